// Counts every allocation of the process it is preloaded into (LD_PRELOAD, glibc only), for
// the allocation budget test (tests/e2e/test_allocations.py): the server runs unchanged, and
// the test asks how many allocations a fan-out made.
//
// The counts are read through two FIFOs named by SALON_MALLOC_FIFO (PATH.req and PATH.resp):
// each byte written to PATH.req is answered on PATH.resp by one line, "ALLOCATIONS\n". A
// thread of this library answers; it allocates nothing itself (plain system calls), so
// reading the count does not change it.
#define _GNU_SOURCE
#include "MallocCounter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static _Atomic unsigned long long allocations = 0;

void *malloc(size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    __libc_free(pointer);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *out = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

unsigned long long salon_malloc_count(void) {
    return atomic_load_explicit(&allocations, memory_order_relaxed);
}

static char request_path[4096];
static char response_path[4096];

static void *answer(void *unused) {
    (void)unused;
    int request = open(request_path, O_RDONLY);  // blocks until the test opens it for writing
    int response = open(response_path, O_WRONLY);
    if (request < 0 || response < 0) return NULL;
    char byte;
    while (read(request, &byte, 1) == 1) {
        char digits[32];
        int at = (int)sizeof(digits);
        digits[--at] = '\n';
        unsigned long long value = salon_malloc_count();
        do {
            digits[--at] = (char)('0' + value % 10);
            value /= 10;
        } while (value > 0);
        if (write(response, digits + at, sizeof(digits) - (size_t)at) < 0) break;
    }
    close(request);
    close(response);
    return NULL;
}

__attribute__((constructor)) static void start(void) {
    const char *fifo = getenv("SALON_MALLOC_FIFO");
    if (fifo == NULL || strlen(fifo) > sizeof(request_path) - 8) return;
    strcpy(request_path, fifo);
    strcat(request_path, ".req");
    strcpy(response_path, fifo);
    strcat(response_path, ".resp");
    pthread_t thread;
    if (pthread_create(&thread, NULL, answer, NULL) == 0) pthread_detach(thread);
}
