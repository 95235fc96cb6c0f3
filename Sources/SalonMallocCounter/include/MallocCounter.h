#ifndef SALON_MALLOC_COUNTER_H
#define SALON_MALLOC_COUNTER_H

/// Allocations (malloc, calloc, realloc, the aligned ones) since the process started.
unsigned long long salon_malloc_count(void);

#endif
