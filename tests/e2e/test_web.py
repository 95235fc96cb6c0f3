"""The web client in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): what a person does and sees. Screenshots go to test-output/screenshots/."""
import asyncio
import json
import os
import urllib.request

import pytest
import websockets
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, ws_account, ws_request

SHOTS = os.path.join(ROOT, "test-output", "screenshots")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


class Page:
    def __init__(self, url, width=1200, height=800, arguments=()):
        options = webdriver.ChromeOptions()
        for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}", *arguments]:
            options.add_argument(arg)
        options.binary_location = CHROMIUM
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(DRIVER), options=options)
        self.url = url
        self.driver.get(url)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait(self, condition, timeout=20):
        return WebDriverWait(self.driver, timeout).until(lambda d: condition())

    def sign_in(self, mode, username, password=None):
        self.wait(lambda: self.find("#auth-username").is_displayed())
        self.find(f"[data-tab={mode}]").click()
        self.find("#auth-username").clear()
        self.find("#auth-username").send_keys(username)
        if password is not None:
            self.find("#auth-password").send_keys(password)
        self.find("#auth-submit").click()

    def create_room(self, name, private=False):
        """Creates a room from the rooms dialog and waits until it is open."""
        self.find("#browse-button").click()
        self.wait(lambda: self.find("#create-name").is_displayed())
        self.find("#create-name").send_keys(name)
        if private:
            self.find("#create-private").click()
        self.find("#create-form button[type=submit]").click()
        self.wait(lambda: self.title() == f"#{name}")

    def signed_in(self):
        self.wait(lambda: self.find("#app").is_displayed())

    def say(self, text):
        box = self.find("#input")
        box.send_keys(text)
        box.send_keys("\n")

    def texts(self):
        """The message texts in view, in order."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#messages .msg .text')].map((n) => n.innerText)")

    def shows(self, text):
        self.wait(lambda: text in self.texts())

    def title(self):
        return self.find("#title").text

    def badge(self, key):
        found = self.driver.find_elements(By.CSS_SELECTOR, f'[data-key="{key}"] .badge')
        return found[0].text if found else None

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))

    def close(self):
        self.driver.quit()


def post_as(server, name, texts):
    """A guest `name` posts `texts` to #general over a WebSocket of its own, each stored."""
    async def run():
        async with websockets.connect(server.ws_url) as ws:
            await ws_request(ws, "login", {"username": name})
            for i, text in enumerate(texts):
                await ws_request(ws, "send_message", {"room": "general", "text": text}, id=str(i))
    asyncio.run(run())


def two_guests(pages, first="ana", second="bob"):
    """Two pages, each signed in as a guest."""
    a, b = pages(), pages()
    a.sign_in("guest", first)
    b.sign_in("guest", second)
    a.signed_in()
    b.signed_in()
    return a, b


@pytest.fixture
def pages(server):
    opened = []

    def page(**kwargs):
        p = Page(f"http://127.0.0.1:{server.http_port}/", **kwargs)
        opened.append(p)
        return p
    yield page
    for p in opened:
        p.close()



def test_the_page_is_served_safely(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b'<script type="module" src="/app.js">' in response.read()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/manifest.webmanifest") as response:
        assert json.loads(response.read())["name"] == "Salon"


def test_two_people_register_create_a_room_and_chat(pages):
    ana, bob = pages(), pages()
    ana.shot("sign-in")
    ana.sign_in("register", "ana", "password-ana")
    bob.sign_in("register", "bob", "password-bob")
    ana.signed_in()
    bob.signed_in()
    ana.say("/create books what we read")
    ana.wait(lambda: ana.title() == "#books")
    bob.say("/join books")
    bob.wait(lambda: bob.title() == "#books")
    ana.wait(lambda: "bob joined #books" in ana.find("#messages").text)
    for i in range(1, 4):
        ana.say(f"ana says {i}")
        ana.shows(f"ana says {i}")
        bob.say(f"bob says {i}")
        bob.shows(f"bob says {i}")
    expected = [f"{who} says {i}" for i in range(1, 4) for who in ("ana", "bob")]
    ana.wait(lambda: ana.texts() == expected)
    bob.wait(lambda: bob.texts() == expected)
    members = ana.find("#member-list").text
    assert "ana" in members and "bob" in members
    ana.shot("conversation")
    # A reload stays signed in, with the history.
    ana.driver.refresh()
    ana.signed_in()
    ana.find('[data-key="#books"]').click()
    ana.wait(lambda: ana.texts() == expected)


def test_a_private_message_raises_the_unread_badge(pages):
    ana, bob = two_guests(pages)
    bob.say("/msg ana are you there?")
    ana.wait(lambda: ana.badge("@bob") == "1")
    assert ana.driver.title == "(1) Salon"
    bob.say("/msg ana hello?")
    ana.wait(lambda: ana.badge("@bob") == "2")
    ana.shot("unread-badge")
    ana.find('[data-key="@bob"]').click()
    ana.wait(lambda: ana.texts() == ["are you there?", "hello?"])
    ana.wait(lambda: ana.badge("@bob") is None)
    assert ana.driver.title == "Salon"


def test_scrolling_up_loads_older_history_without_a_jump(server, pages):
    post_as(server, "archivist", [f"old message {i}" for i in range(1, 131)])
    page = pages(height=700)
    page.sign_in("guest", "reader")
    page.signed_in()
    page.shows("old message 130")
    assert "old message 1" not in page.texts()
    for _ in range(5):
        if "old message 1" in page.texts():
            break
        # The message at the top must stay in view when older ones arrive above it.
        where = ("const box = document.getElementById('messages');"
                 "return document.querySelector(`#messages .msg[data-id='${arguments[0]}']`).getBoundingClientRect().top"
                 " - box.getBoundingClientRect().top + box.scrollTop;")
        first = page.driver.execute_script("return document.querySelector('#messages .msg').dataset.id")
        before = page.driver.execute_script(where, first) - 0  # its place when scrolled to the very top
        count = len(page.texts())
        page.driver.execute_script("document.getElementById('messages').scrollTop = 0")
        page.wait(lambda: len(page.texts()) > count)
        after = page.driver.execute_script(
            "const box = document.getElementById('messages');"
            "return document.querySelector(`#messages .msg[data-id='${arguments[0]}']`).getBoundingClientRect().top"
            " - box.getBoundingClientRect().top", first)
        # Still where the reader was looking (within one line: its day header moved above the older ones).
        assert abs(after - before) < 60, f"the view jumped: the message moved from {before} to {after}"
    assert page.texts() == [f"old message {i}" for i in range(1, 131)]


def test_the_page_recovers_from_a_server_restart_without_loss_or_duplicates(server, pages):
    ana, bob = pages(), pages()
    ana.sign_in("register", "ana", "password-ana")
    bob.sign_in("register", "bob", "password-bob")
    ana.signed_in()
    bob.signed_in()
    ana.say("before the restart")
    bob.shows("before the restart")
    assert server.stop() == 0
    ana.wait(lambda: ana.find("#banner").is_displayed())
    ana.shot("reconnecting")
    ana.say("typed while the server was down")
    ana.wait(lambda: "sending…" in ana.find("#messages").text)
    server.start()

    post_as(server, "carol", [f"carol {i}" for i in range(1, 4)])
    for name, page in (("ana", ana), ("bob", bob)):
        page.wait(lambda: not page.find("#banner").is_displayed(), timeout=40)
        try:
            page.wait(lambda: all(t in page.texts() for t in ["carol 1", "carol 2", "carol 3", "typed while the server was down"]))
        except Exception:
            page.shot(f"restart-failure-{name}")
            raise AssertionError(f"{name} shows {page.texts()} with banner {page.find('#banner').text!r}")
        texts = page.texts()
        assert len(texts) == len(set(texts)), f"duplicates: {texts}"
        assert texts.index("carol 1") < texts.index("carol 2") < texts.index("carol 3")
    assert "sending…" not in ana.find("#messages").text


def test_markup_is_shown_as_text_and_never_run(pages):
    ana, bob = two_guests(pages)
    evil = "<img src=x onerror=alert(1)>"
    ana.say(evil)
    bob.shows(evil)
    with pytest.raises(NoAlertPresentException):
        bob.driver.switch_to.alert.text
    assert bob.driver.find_elements(By.CSS_SELECTOR, "#messages img") == []
    assert bob.driver.execute_script("return window.__xss === undefined")
    # A link is a link, and only http(s).
    ana.say("see https://example.org/x and javascript:alert(2)")
    bob.shows("see https://example.org/x and javascript:alert(2)")
    links = [a.get_attribute("href") for a in bob.driver.find_elements(By.CSS_SELECTOR, "#messages a")]
    assert links == ["https://example.org/x"]


def test_a_taken_guest_name_shows_the_error_next_to_the_field(pages):
    first, second = pages(), pages()
    first.sign_in("guest", "zoe")
    first.signed_in()
    second.sign_in("guest", "ZOE")
    second.wait(lambda: second.find("#auth-username-error").text != "")
    assert second.find("#auth-username-error").text == "This name is taken. Choose another."
    second.sign_in("register", "new", "short")
    second.wait(lambda: second.find("#auth-password-error").text != "")
    assert "at least 8 characters" in second.find("#auth-password-error").text
    second.shot("sign-in-error")


def test_phone_and_dark_screens(pages):
    phone = pages(width=390, height=780)
    phone.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    phone.sign_in("guest", "mobile")
    phone.signed_in()
    phone.say("hello from a phone")
    phone.shows("hello from a phone")
    assert not phone.find("#sidebar").is_displayed() or phone.find("#sidebar").rect["x"] < 0
    phone.shot("phone-dark")
    phone.find("#menu-button").click()
    phone.wait(lambda: phone.find("#sidebar").rect["x"] >= 0)
    phone.shot("phone-sidebar")


def test_main_screen_as_people_use_it(server, pages):
    """A lived-in main screen (its screenshot is the README's): rooms, people, a link, a
    mention, a notice, an unread private message."""
    async def seed():
        async with websockets.connect(server.ws_url) as lea, websockets.connect(server.ws_url) as sam:
            await ws_request(lea, "register", {"username": "lea", "password": "password-lea"})
            await ws_request(sam, "register", {"username": "sam", "password": "password-sam"})
            await ws_request(lea, "create_room", {"name": "design", "topic": "The look and feel of Salon 1.0"})
            await ws_request(sam, "join_room", {"room": "design"})
            await ws_request(lea, "create_room", {"name": "releases", "topic": "Shipping notes"})
            for who, text in [
                (lea, "Morning! The new sidebar is up on staging."),
                (sam, "Looks great. Unread badges are much easier to spot now."),
                (lea, "The palette follows the system's dark mode too: https://example.org/salon/palette"),
            ]:
                await ws_request(who, "send_message", {"room": "design", "text": text})
    asyncio.run(seed())
    page = pages(width=1280, height=760)
    page.sign_in("register", "nora", "password-nora")
    page.signed_in()
    page.say("/join design")
    page.wait(lambda: page.title() == "#design")

    async def talk():
        async with websockets.connect(server.ws_url) as sam:
            await ws_request(sam, "login", {"username": "sam", "password": "password-sam"})
            await ws_request(sam, "send_message", {"room": "design", "text": "Welcome nora! Have a look at the palette and tell us."})
            await ws_request(sam, "send_message", {"to": "nora", "text": "Lunch at noon?"})
    asyncio.run(talk())
    page.shows("Welcome nora! Have a look at the palette and tell us.")
    page.wait(lambda: page.badge("@sam") == "1")
    page.say("Thanks! The contrast is lovely, and the links work.")
    page.shows("Thanks! The contrast is lovely, and the links work.")
    assert page.driver.find_elements(By.CSS_SELECTOR, "#messages .msg.mention")
    assert [a.text for a in page.driver.find_elements(By.CSS_SELECTOR, "#messages a")] == ["https://example.org/salon/palette"]
    page.shot("main-screen")


def test_notifications_rooms_dialog_multiline_and_logout(server, pages):
    ana, bob = pages(), pages()
    ana.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": f"http://127.0.0.1:{server.http_port}", "permissions": ["notifications"]})
    ana.sign_in("register", "ana", "password-ana")
    bob.sign_in("guest", "bob")
    ana.signed_in()
    bob.signed_in()
    # Record the notifications the page raises.
    ana.driver.execute_script(
        "window.__notes = []; const N = window.Notification;"
        "window.Notification = class extends N { constructor(t, o) { super(t, o); window.__notes.push([t, o.body]); } };")
    bob.say("/create lounge")
    bob.wait(lambda: bob.title() == "#lounge")
    # ana finds the room in the rooms dialog and joins it.
    ana.find("#browse-button").click()
    ana.wait(lambda: "#lounge" in ana.find("#public-rooms").text)
    join = [li for li in ana.driver.find_elements(By.CSS_SELECTOR, "#public-rooms li") if "#lounge" in li.text][0]
    join.find_element(By.TAG_NAME, "button").click()
    ana.wait(lambda: ana.title() == "#lounge")
    ana.find('[data-key="#general"]').click()
    ana.wait(lambda: ana.title() == "#general")
    # A mention in another room and a private message raise notifications; plain talk does not.
    bob.say("just chatting")
    bob.say("ana, are you coming?")
    bob.say("/msg ana a secret")
    ana.wait(lambda: len(ana.driver.execute_script("return window.__notes")) == 2)
    assert ana.driver.execute_script("return window.__notes") == [["bob in #lounge", "ana, are you coming?"], ["bob", "a secret"]]
    # Shift+Enter adds a line; Enter sends.
    box = ana.find("#input")
    box.send_keys("first line")
    from selenium.webdriver.common.keys import Keys
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("second line\n")
    ana.shows("first line\nsecond line")
    # Log out: back to sign-in, and a reload stays signed out.
    ana.find("#logout-button").click()
    ana.wait(lambda: ana.find("#auth-username").is_displayed())
    ana.driver.refresh()
    ana.wait(lambda: ana.find("#auth-username").is_displayed())
    assert not ana.find("#app").is_displayed()


def test_what_changed_while_offline_appears_after_reconnecting(server, pages):
    """Edits, deletions and reactions made while the page was disconnected, and a private
    message, appear once it is back (caught up by sync), nothing twice."""
    ana = pages()
    ana.sign_in("register", "ana", "password-ana")
    ana.signed_in()

    async def before():
        bob = await ws_account(server.ws_url, "bob")
        first = (await ws_request(bob, "send_message", {"room": "general", "text": "first draft"}))["data"]["message"]
        second = (await ws_request(bob, "send_message", {"room": "general", "text": "to be deleted"}))["data"]["message"]
        await bob.close()
        return first["id"], second["id"]
    first, second = asyncio.run(before())
    ana.shows("to be deleted")
    assert server.stop() == 0
    ana.wait(lambda: ana.find("#banner").is_displayed())
    server.start()

    async def while_away():
        bob = await websockets.connect(server.ws_url)
        await ws_request(bob, "login", {"username": "bob", "password": "bob password"})
        await ws_request(bob, "edit_message", {"id": first, "text": "final text"}, id="e")
        await ws_request(bob, "delete_message", {"id": second}, id="d")
        await ws_request(bob, "react", {"id": first, "emoji": "👍"}, id="r")
        await ws_request(bob, "send_message", {"to": "ana", "text": "did you see?"}, id="m")
        await bob.close()
    asyncio.run(while_away())
    ana.wait(lambda: not ana.find("#banner").is_displayed(), timeout=40)
    ana.wait(lambda: any(t.startswith("final text") for t in ana.texts()))
    texts = ana.texts()
    assert "first draft" not in " ".join(texts) and "to be deleted" not in " ".join(texts), texts
    assert any("(edited)" in t for t in texts) and "message deleted" in texts, texts
    ana.wait(lambda: "👍 1" in ana.find("#messages").text)
    ana.wait(lambda: ana.badge("@bob") == "1")
    ana.shot("offline-changes")


def test_a_fresh_browser_shows_the_private_conversations_waiting(server, pages):
    async def prepare():
        ana = await ws_account(server.ws_url, "ana")
        await ana.close()
        bob = await ws_account(server.ws_url, "bob")
        await ws_request(bob, "send_message", {"to": "ana", "text": "one"}, id="1")
        await ws_request(bob, "send_message", {"to": "ana", "text": "two"}, id="2")
        await bob.close()
    asyncio.run(prepare())
    ana = pages()
    ana.sign_in("login", "ana", "ana password")
    ana.signed_in()
    ana.wait(lambda: ana.badge("@bob") == "2")
    ana.find('[data-key="@bob"]').click()
    ana.shows("two")
    ana.wait(lambda: ana.badge("@bob") is None)


def test_members_stay_current_typing_shows_and_presence_greys_out_when_disconnected(server, pages):
    ana = pages()
    ana.sign_in("guest", "ana")
    ana.signed_in()
    members = lambda: [b.get_attribute("data-user") for b in ana.driver.find_elements(By.CSS_SELECTOR, "#member-list button")]
    ana.wait(lambda: members() == ["ana"])
    bob = pages()
    bob.sign_in("guest", "bob")
    bob.signed_in()
    # #general's members follow without switching rooms.
    ana.wait(lambda: "bob" in members())
    # Typing shows under the conversation, and ends with the message.
    bob.find("#input").send_keys("a long sente")
    ana.wait(lambda: ana.find("#typing").text == "bob is typing…")
    ana.shot("typing")
    bob.find("#input").send_keys("nce\n")
    ana.shows("a long sentence")
    ana.wait(lambda: ana.find("#typing").text == "")
    # Disconnected, nobody shows as online.
    assert server.stop() == 0
    ana.wait(lambda: ana.find("#banner").is_displayed())
    ana.wait(lambda: not ana.driver.find_elements(By.CSS_SELECTOR, "#member-list .dot.online"))
    server.start()


def test_the_counter_refuses_too_long_and_room_names_are_made_valid(pages):
    ana = pages()
    ana.sign_in("guest", "ana")
    ana.signed_in()
    box = ana.find("#input")
    ana.driver.execute_script("arguments[0].value = 'x'.repeat(4001); arguments[0].dispatchEvent(new Event('input'))", box)
    ana.wait(lambda: ana.find("#counter").text == "-1")
    assert "over" in ana.find("#counter").get_attribute("class")
    box.send_keys("\n")
    ana.wait(lambda: any("at most 4000 characters" in n.text for n in ana.driver.find_elements(By.CSS_SELECTOR, "#messages .notice")))
    assert ana.find("#input").get_attribute("value") == "x" * 4001  # nothing lost
    ana.driver.execute_script("arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input'))", box)
    ana.find("#browse-button").click()
    ana.wait(lambda: ana.find("#create-name").is_displayed())
    ana.find("#create-name").send_keys("Book Club")
    ana.find("#create-form button[type=submit]").click()
    ana.wait(lambda: ana.title() == "#book-club")


def test_the_members_panel_closes_on_a_phone(pages):
    ana = pages(width=390, height=780)
    ana.sign_in("guest", "ana")
    ana.signed_in()
    app = lambda: ana.find("#app").get_attribute("class")
    ana.find("#members-button").click()
    ana.wait(lambda: "show-members" in app())
    # Once it has slid in: its own close button is on it.
    ana.wait(lambda: ana.driver.execute_script("return getComputedStyle(document.getElementById('members')).transform") == "none")
    ana.shot("phone-members")
    ana.find("#members-close").click()
    ana.wait(lambda: "show-members" not in app())
    ana.find("#members-button").click()
    ana.wait(lambda: "show-members" in app())
    ana.find("#input").send_keys(Keys.ESCAPE)
    ana.wait(lambda: "show-members" not in app())


def test_reply_react_edit_and_delete_from_the_message_itself(pages):
    from selenium.webdriver.common.action_chains import ActionChains
    ana, bob = two_guests(pages)
    bob.say("a question?")
    ana.shows("a question?")

    def action(page, text, name):
        node = next(n for n in page.driver.find_elements(By.CSS_SELECTOR, "#messages .msg") if text in n.text)
        ActionChains(page.driver).move_to_element(node).perform()
        button = node.find_element(By.CSS_SELECTOR, f'.actions button[data-action="{name}"]')
        page.wait(lambda: button.is_displayed())
        return button

    action(ana, "a question?", "reply").click()
    ana.wait(lambda: ana.find("#composer-bar").is_displayed() and "Replying to bob" in ana.find("#composer-bar").text)
    ana.say("an answer")
    bob.shows("an answer")
    bob.wait(lambda: "↪ bob: a question?" in bob.find("#messages").text)
    # React with the picker; a click on one's reaction takes it back.
    action(ana, "a question?", "react").click()
    ana.wait(lambda: ana.find(".picker").is_displayed())
    ana.shot("reaction-picker")
    ana.find('.picker button[title="React with 👍"]').click()
    bob.wait(lambda: "👍 1" in bob.find("#messages").text)
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, "#messages .reaction.mine"))
    # Arrow-Up in the empty composer edits one's last message.
    box = ana.find("#input")
    box.send_keys(Keys.ARROW_UP)
    ana.wait(lambda: box.get_attribute("value") == "an answer")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("a better answer\n")
    bob.wait(lambda: any(t.startswith("a better answer") and "(edited)" in t for t in bob.texts()))
    ana.wait(lambda: any(t.startswith("a better answer") for t in ana.texts()))
    bob.shot("reply-edited-reaction")
    # Delete, after a confirmation.
    action(ana, "a better answer", "delete").click()
    ana.wait(lambda: _alert(ana))
    ana.driver.switch_to.alert.accept()
    bob.wait(lambda: "message deleted" in bob.texts())
    ana.wait(lambda: "message deleted" in ana.texts())
    # Someone else's message has no edit or delete for a member.
    node = next(n for n in ana.driver.find_elements(By.CSS_SELECTOR, "#messages .msg") if "a question?" in n.text)
    assert not node.find_elements(By.CSS_SELECTOR, '[data-action="edit"], [data-action="delete"]')


def _alert(page):
    try:
        page.driver.switch_to.alert
        return True
    except NoAlertPresentException:
        return False


def test_formatting_is_built_safely_from_the_text(pages):
    ana, bob = two_guests(pages)
    ana.say("*bold* and _it_ and `x<y>` in snake_case_name")
    bob.wait(lambda: bob.driver.find_elements(By.CSS_SELECTOR, "#messages .msg strong"))
    node = bob.driver.find_elements(By.CSS_SELECTOR, "#messages .msg .text")[-1]
    assert node.find_element(By.CSS_SELECTOR, "strong").text == "bold"
    assert node.find_element(By.CSS_SELECTOR, "em").text == "it"
    assert node.find_element(By.CSS_SELECTOR, "code").text == "x<y>"
    assert "snake_case_name" in node.text and len(node.find_elements(By.CSS_SELECTOR, "em")) == 1
    box = ana.find("#input")
    for line in ["```", "let a = *not bold*;", "<b>no</b>", "```"]:
        box.send_keys(line)
        box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("> quoted _words_")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("after\n")
    bob.wait(lambda: bob.driver.find_elements(By.CSS_SELECTOR, "#messages pre code"))
    assert bob.find("#messages pre code").text == "let a = *not bold*;\n<b>no</b>"
    assert bob.find("#messages blockquote em").text == "words"
    assert bob.driver.find_elements(By.CSS_SELECTOR, "#messages .text b") == []
    bob.shot("formatting")


def test_search_marks_the_words_and_opens_the_message_in_context(server, pages):
    post_as(server, "carol", ["L'École est fermée aujourd'hui"] + [f"filler {i}" for i in range(60)])
    ana = pages()
    ana.sign_in("guest", "ana")
    ana.signed_in()
    ana.shows("filler 59")
    assert not any("École" in t for t in ana.texts())
    ana.find("#search-button").click()
    ana.wait(lambda: ana.find("#search-input").is_displayed())
    ana.find("#search-input").send_keys("ecole ferm\n")
    ana.wait(lambda: "1 found" in ana.find("#search-status").text)
    marks = [m.text for m in ana.driver.find_elements(By.CSS_SELECTOR, "#search-results mark")]
    assert marks == ["École", "ferm"], marks
    ana.shot("search")
    ana.find("#search-results button").click()
    ana.wait(lambda: not ana.find("#search-dialog").is_displayed())
    ana.wait(lambda: any(t.startswith("L'École est fermée") for t in ana.texts()))
    ana.wait(lambda: ana.driver.execute_script(
        "const n = [...document.querySelectorAll('#messages .msg')].find((m) => m.innerText.includes('École'));"
        "const r = n.getBoundingClientRect(); const box = document.getElementById('messages').getBoundingClientRect();"
        "return r.top >= box.top && r.bottom <= box.bottom;"))


def test_new_messages_divider_and_jump_button(server, pages):
    ana, bob = two_guests(pages)
    for page, command in ((ana, "/create dev"), (bob, "/join dev")):
        page.say(command)
        page.wait(lambda: page.title() == "#dev")
    bob.say("read already")
    ana.shows("read already")
    ana.find('[data-key="#general"]').click()
    ana.wait(lambda: ana.title() == "#general")
    bob.say("unread one")
    bob.say("unread two")
    ana.wait(lambda: ana.badge("#dev") == "2")
    ana.find('[data-key="#dev"]').click()
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, "#messages .divider"))
    order = ana.driver.execute_script(
        "return [...document.querySelectorAll('#messages .divider, #messages .msg .text')].map((n) => n.classList.contains('divider') ? '--' : n.innerText)")
    assert order == ["read already", "--", "unread one", "unread two"], order
    ana.shot("new-messages-divider")
    # Scrolled up, a new message brings the jump button; it goes to the end.
    post_as(server, "carol", [f"line {i}" for i in range(40)])
    ana.find('[data-key="#general"]').click()
    ana.wait(lambda: ana.title() == "#general")
    ana.shows("line 39")
    ana.driver.execute_script("document.getElementById('messages').scrollTop = 0")
    bob.find('[data-key="#general"]').click()
    bob.wait(lambda: bob.title() == "#general")
    bob.say("while you read old things")
    ana.wait(lambda: ana.find("#jump-button").is_displayed())
    ana.find("#jump-button").click()
    ana.wait(lambda: not ana.find("#jump-button").is_displayed())
    assert ana.driver.execute_script("const b = document.getElementById('messages'); return b.scrollHeight - b.scrollTop - b.clientHeight < 40")


def test_a_tap_shows_a_messages_actions_on_a_phone(server, pages):
    post_as(server, "carol", ["tap me"])
    ana = pages(width=390, height=780)
    ana.sign_in("guest", "ana")
    ana.signed_in()
    ana.shows("tap me")
    node = ana.driver.find_elements(By.CSS_SELECTOR, "#messages .msg")[-1]
    assert not node.find_element(By.CSS_SELECTOR, ".actions").is_displayed()
    node.click()
    ana.wait(lambda: node.find_element(By.CSS_SELECTOR, ".actions").is_displayed())
    ana.shot("phone-actions")
    node.find_element(By.CSS_SELECTOR, '[data-action="reply"]').click()
    ana.wait(lambda: "Replying to carol" in ana.find("#composer-bar").text)


def test_no_join_notice_for_someone_listed_when_guests_come_back(server, pages):
    ana, bob = two_guests(pages)
    bob.wait(lambda: any(b.get_attribute("data-user") == "ana" for b in bob.driver.find_elements(By.CSS_SELECTOR, "#member-list button")))
    assert server.stop() == 0
    bob.wait(lambda: bob.find("#banner").is_displayed())
    server.start()
    for page in (ana, bob):
        page.wait(lambda: not page.find("#banner").is_displayed(), timeout=40)
    ana.say("back again")
    bob.shows("back again")
    notices = [n.text for n in bob.driver.find_elements(By.CSS_SELECTOR, "#messages .notice")]
    assert not any("ana joined" in n for n in notices), notices


class Peer:
    """Someone with an account on a WebSocket of its own, driven step by step between the
    browser's checks."""

    def __init__(self, server, name):
        self.loop = asyncio.new_event_loop()
        self.ws = self.loop.run_until_complete(ws_account(server.ws_url, name))
        self.count = 0

    def request(self, action, data):
        self.count += 1
        reply = self.loop.run_until_complete(ws_request(self.ws, action, data, id=f"p{self.count}"))
        assert reply["action"] == "success", reply
        return reply["data"]

    def close(self):
        self.loop.run_until_complete(self.ws.close())
        self.loop.close()


def test_a_change_redraws_only_its_message_and_what_one_reads_stays_put(server, pages):
    carol = Peer(server, "carol")
    ids = [carol.request("send_message", {"room": "general", "text": f"line {i}"})["message"]["id"] for i in range(60)]
    ana = pages()
    ana.sign_in("guest", "ana")
    ana.signed_in()
    ana.shows("line 59")
    # Scrolled up so that "line 30" is at the top; every node drawn so far is marked.
    top = ana.driver.execute_script("""
        const box = document.getElementById('messages');
        const n = [...box.querySelectorAll('.msg')].find((m) => m.innerText.startsWith('line 30'));
        box.scrollTop += n.getBoundingClientRect().top - box.getBoundingClientRect().top;
        box.querySelectorAll('.msg').forEach((m) => { m.salonMark = true; });
        return box.scrollHeight - box.scrollTop - box.clientHeight > 100 ? n.getBoundingClientRect().top : null;""")
    assert top is not None, "the view is not scrolled up"  # the list must be longer than the window
    carol.request("edit_message", {"id": ids[15], "text": "line 15\nnow\nmuch\nlonger"})  # above the view
    carol.request("react", {"id": ids[20], "emoji": "🎉"})
    carol.request("delete_message", {"id": ids[35]})  # in the view
    ana.wait(lambda: "message deleted" in ana.texts())
    ana.wait(lambda: any(t.startswith("line 15\nnow\nmuch\nlonger") for t in ana.texts()))
    ana.wait(lambda: "🎉 1" in ana.find("#messages").text)
    seen = ana.driver.execute_script("""
        const box = document.getElementById('messages');
        const nodes = [...box.querySelectorAll('.msg')];
        const n = nodes.find((m) => m.innerText.startsWith('line 30'));
        return { fresh: nodes.filter((m) => !m.salonMark).map((m) => Number(m.dataset.id)),
                 top: n.getBoundingClientRect().top, kept: n.salonMark === true };""")
    assert sorted(seen["fresh"]) == sorted([ids[15], ids[20], ids[35]]), seen
    assert seen["kept"] and abs(seen["top"] - top) <= 1, (seen, top)
    # A new message while scrolled up is added without moving the view either.
    carol.request("send_message", {"room": "general", "text": "line 60"})
    ana.wait(lambda: ana.find("#jump-button").is_displayed())
    assert abs(ana.driver.execute_script(
        "return [...document.querySelectorAll('#messages .msg')].find((m) => m.innerText.startsWith('line 30')).getBoundingClientRect().top") - top) <= 1
    carol.close()


def test_attachments_have_their_size_before_they_load_and_only_safe_links(pages):
    ana = pages()
    ana.sign_in("guest", "ana")
    ana.signed_in()
    drawn = ana.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/message.js').then(({ messageNode }) => {
          const node = messageNode({ id: 999999, from: 'bob', room: 'general', timestamp: new Date().toISOString(), text: 'three files',
            attachments: [
              { id: 'a', name: 'photo.jpg', size: 2400000, type: 'image/jpeg', url: '/api/files/a', width: 1600, height: 1200 },
              { id: 'b', name: 'notes.pdf', size: 12345, type: 'application/pdf', url: '/api/files/b' },
              { id: 'c', name: 'evil.svg', size: 100, type: 'image/svg+xml', url: 'javascript:alert(1)', width: 10, height: 10 }] }, { me: 'ana' });
          document.getElementById('messages').append(node);
          node.scrollIntoView();
          const box = node.querySelector('.attachment.image').getBoundingClientRect();
          done({ width: box.width, height: box.height,
                 cards: [...node.querySelectorAll('.attachment.file')].map((c) => c.innerText.replace(/\\s+/g, ' ')),
                 hrefs: [...node.querySelectorAll('a.attachment, .attachment a')].map((a) => a.getAttribute('href')) });
        });""")
    assert (drawn["width"], drawn["height"]) == (320, 240), drawn
    assert drawn["cards"] == ["notes.pdf 12 KiB Download", "evil.svg 100 B Download"], drawn
    assert drawn["hrefs"] == ["/api/files/a", "/api/files/b", "#"], drawn
    ana.shot("attachments")


def test_rich_messages_on_a_phone(server, pages):
    ana = pages(width=390, height=780)
    bob = pages(width=390, height=780)
    ana.sign_in("guest", "ana")
    bob.sign_in("guest", "bob")
    ana.signed_in()
    bob.signed_in()
    bob.say("who brings *snacks* on friday?")
    ana.shows("who brings snacks on friday?")
    node = ana.driver.find_elements(By.CSS_SELECTOR, "#messages .msg")[-1]
    node.click()
    ana.wait(lambda: node.find_element(By.CSS_SELECTOR, ".actions").is_displayed())
    node.find_element(By.CSS_SELECTOR, '[data-action="react"]').click()
    ana.wait(lambda: ana.find(".picker").is_displayed())
    ana.shot("phone-reaction-picker")
    ana.find('.picker button[title="React with 🎉"]').click()
    bob.wait(lambda: "🎉 1" in bob.find("#messages").text)
    node = ana.driver.find_elements(By.CSS_SELECTOR, "#messages .msg")[-1]
    node.click()
    node.find_element(By.CSS_SELECTOR, '[data-action="reply"]').click()
    ana.say("me, with `fruit` too")
    bob.wait(lambda: "↪ bob: who brings *snacks* on friday?" in bob.find("#messages").text)
    box = bob.find("#input")
    box.send_keys("I'll bring drinks")
    ana.wait(lambda: ana.find("#typing").text == "bob is typing…")
    ana.shot("phone-reply-reaction-typing")
    box.send_keys("\n")
    ana.shows("I'll bring drinks")
    box.send_keys(Keys.ARROW_UP)
    bob.wait(lambda: box.get_attribute("value") == "I'll bring drinks")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("I'll bring drinks and ice\n")
    ana.wait(lambda: any(t.startswith("I'll bring drinks and ice") and "(edited)" in t for t in ana.texts()))
    ana.find("#search-button").click()
    ana.wait(lambda: ana.find("#search-input").is_displayed())
    ana.find("#search-input").send_keys("drink\n")
    ana.wait(lambda: "1 found" in ana.find("#search-status").text)
    ana.shot("phone-search")


def test_a_kicked_member_is_told_why_and_loses_the_room(server, pages):
    ana = Peer(server, "ana")
    ana.request("create_room", {"name": "club"})
    bob = pages()
    bob.sign_in("guest", "bob")
    bob.signed_in()
    bob.say("/join club")
    bob.wait(lambda: bob.title() == "#club")
    ana.request("kick", {"room": "club", "username": "bob", "reason": "too loud"})
    bob.wait(lambda: bob.title() == "#general")
    bob.wait(lambda: any("You were removed from #club by ana: too loud." in n.text for n in bob.driver.find_elements(By.CSS_SELECTOR, "#messages .notice")))
    assert not bob.driver.find_elements(By.CSS_SELECTOR, '[data-key="#club"]')
    bob.shot("kicked")
    ana.close()


def _room_role(page, user):
    """The role the room settings dialog shows for `user` (read in one go: the list is redrawn)."""
    return page.driver.execute_script(
        "return document.querySelector(`#room-members li[data-user='${arguments[0]}'] .role`)?.textContent", user)


def test_room_settings_invitations_and_moderation(server, pages):
    """The owner of a private room invites someone (it appears in their list at once), mutes
    them with a reason (their composer says why and until when), makes them a moderator and
    back, and bans them for a day (they are told and lose the room); the moderation log shows
    it all; someone without rank sees none of the tools."""
    ana, bob = pages(), pages()
    ana.sign_in("register", "ana", "ana password")
    bob.sign_in("register", "bob", "bob password")
    ana.signed_in()
    bob.signed_in()
    # A private room, locked in the list.
    ana.create_room("den", private=True)
    ana.wait(lambda: "🔒 den" in ana.find('[data-key="#den"]').text)
    # Settings: what an owner may do.
    ana.find("#settings-button").click()
    ana.wait(lambda: ana.find("#room-dialog").is_displayed())
    assert "Private room" in ana.find("#room-kind").text
    ana.wait(lambda: ana.find("#topic-form").is_displayed() and ana.find("#delete-room").is_displayed())
    ana.find("#topic-input").clear()
    ana.find("#topic-input").send_keys("quiet corner\n")
    ana.wait(lambda: ana.find("#topic").text == "quiet corner")
    # The invitation: bob's list has the room at once.
    ana.find("#invite-input").send_keys("bob\n")
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, '#room-members li[data-user="bob"]'))
    bob.wait(lambda: bob.driver.find_elements(By.CSS_SELECTOR, '[data-key="#den"]'))
    assert "🔒 den" in bob.find('[data-key="#den"]').text
    # A mute for an hour, with a reason.
    ana.find("#mod-reason").send_keys("calm down")
    ana.find("#mod-duration option[value='3600']").click()
    ana.find('#room-members li[data-user="bob"] [data-action="mute"]').click()
    ana.wait(lambda: "mute bob for 1 hour: calm down" in ana.find("#modlog").text)
    ana.find('#room-members li[data-user="bob"] [data-action="set_room_role"]').click()
    ana.wait(lambda: _room_role(ana, "bob") == "moderator")
    ana.shot("room-settings")
    bob.find('[data-key="#den"]').click()
    bob.wait(lambda: bob.title() == "#den" and bob.find("#muted-notice").is_displayed())
    notice = bob.find("#muted-notice").text
    assert "You are muted in #den until" in notice and "calm down" in notice, notice
    assert not bob.find("#input").is_enabled()
    bob.shot("muted-composer")
    # A moderator's settings: no delete, no role changes on the owner.
    bob.find("#settings-button").click()
    bob.wait(lambda: bob.find("#room-dialog").is_displayed())
    bob.wait(lambda: bob.driver.find_elements(By.CSS_SELECTOR, '#room-members li[data-user="ana"]') and bob.find("#modlog-section").is_displayed())
    assert not bob.find("#delete-room").is_displayed()
    assert not bob.driver.find_elements(By.CSS_SELECTOR, '#room-members li[data-user="ana"] button')
    bob.find("#room-dialog .dialog-head button").click()
    # Back to member, unmuted, then banned for a day: bob is told and loses the room.
    ana.find('#room-members li[data-user="bob"] [data-action="set_room_role"]').click()
    ana.wait(lambda: _room_role(ana, "bob") == "member")
    ana.find('#room-members li[data-user="bob"] [data-action="unmute"]').click()
    bob.wait(lambda: not bob.find("#muted-notice").is_displayed() and bob.find("#input").is_enabled())
    ana.find("#mod-reason").clear()
    ana.find("#mod-reason").send_keys("spam")
    ana.find("#mod-duration option[value='86400']").click()
    ana.find('#room-members li[data-user="bob"] [data-action="ban"]').click()
    bob.wait(lambda: bob.title() == "#general")
    bob.wait(lambda: any("You were banned from #den by ana until" in n.text and "spam" in n.text
                         for n in bob.driver.find_elements(By.CSS_SELECTOR, "#messages .notice")))
    assert not bob.driver.find_elements(By.CSS_SELECTOR, '[data-key="#den"]')
    bob.shot("banned")
    ana.wait(lambda: "ban bob for 1 day: spam" in ana.find("#modlog").text)
    log = ana.find("#modlog").text
    assert log.index("ban bob") < log.index("mute bob"), log  # newest first
    # In #general bob has no rank: no tools.
    bob.find("#settings-button").click()
    bob.wait(lambda: bob.find("#room-dialog").is_displayed() and bob.find("#room-dialog-title").text == "#general")
    bob.wait(lambda: bob.driver.find_elements(By.CSS_SELECTOR, '#room-members li[data-user="bob"]'))
    assert not bob.find("#moderation-tools").is_displayed() and not bob.find("#topic-form").is_displayed()
    assert not bob.find("#modlog-section").is_displayed() and not bob.find("#delete-room").is_displayed()
    # The owner deletes the room.
    ana.find("#delete-room").click()
    ana.driver.switch_to.alert.accept()
    ana.wait(lambda: ana.title() == "#general")
    assert not ana.driver.find_elements(By.CSS_SELECTOR, '[data-key="#den"]')


def _image(path, size, colour, kind="PNG"):
    from PIL import Image, ImageDraw
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4), fill=(255, 255, 255))
    image.save(path, kind)
    return path


def test_files_by_button_drop_and_paste_with_previews(server, pages, tmp_path):
    ana, bob = pages(), pages()
    ana.sign_in("register", "ana", "ana password")
    bob.sign_in("register", "bob", "bob password")
    ana.signed_in()
    bob.signed_in()
    ana.wait(lambda: ana.find("#attach-button").is_displayed())
    photo = _image(str(tmp_path / "sunset.png"), (1600, 900), (230, 120, 40))
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4 " + os.urandom(40000))
    # The button (its file input), two files at once.
    ana.driver.execute_script("document.getElementById('file-input').hidden = false")
    ana.find("#file-input").send_keys(f"{photo}\n{notes}")
    ana.driver.execute_script("document.getElementById('file-input').hidden = true")
    ana.wait(lambda: len(ana.driver.find_elements(By.CSS_SELECTOR, "#uploads .upload.done")) == 2)
    ana.shot("upload-tray")
    ana.say("the view from here")
    # Bob sees the image with its box sized before it loads, and the PDF as a card.
    bob.wait(lambda: bob.driver.execute_script("return document.querySelectorAll('#messages .attachment.image img').length") == 1)
    box = bob.driver.execute_script("""
        const link = document.querySelector('#messages .attachment.image');
        const img = link.querySelector('img');
        return { w: link.getBoundingClientRect().width, h: link.getBoundingClientRect().height,
                 src: img.getAttribute('src'), card: document.querySelector('#messages .attachment.file').innerText.replace(/\\s+/g, ' ') };""")
    assert (round(box["w"]), round(box["h"])) == (320, 180), box
    assert box["src"].endswith("/preview") and "token" not in box["src"]
    assert box["card"].startswith("notes.pdf 39 KiB"), box
    bob.wait(lambda: bob.driver.execute_script(
        "const i = document.querySelector('#messages .attachment.image img'); return i.complete && i.naturalWidth > 0"))
    # The preview is the browser's small copy: much smaller than the image.
    natural = bob.driver.execute_script("return document.querySelector('#messages .attachment.image img').naturalWidth")
    assert natural <= 480
    bob.shot("image-in-conversation")
    # A click opens it at full size.
    bob.find("#messages .attachment.image").click()
    bob.wait(lambda: bob.driver.execute_script(
        "const i = document.getElementById('image-viewer-img'); return document.getElementById('image-viewer').open && i.complete && i.naturalWidth === 1600"))
    bob.shot("image-viewer")
    bob.find("#image-viewer").click()
    bob.wait(lambda: not bob.driver.execute_script("return document.getElementById('image-viewer').open"))

    # Dropped on the conversation, and pasted into the composer.
    for how in ("drop", "paste"):
        ana.driver.execute_script("""
            const [how, bytes] = arguments;
            const file = new File([Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0))], `${how}.png`, { type: 'image/png' });
            const data = new DataTransfer();
            data.items.add(file);
            if (how === 'drop') {
              const area = document.querySelector('.conversation');
              area.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
              area.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
            } else {
              document.getElementById('input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
            }""", how, __import__("base64").b64encode(open(_image(str(tmp_path / f"{how}.png"), (64, 48), (20, 90, 200)), "rb").read()).decode())
        ana.wait(lambda: len(ana.driver.find_elements(By.CSS_SELECTOR, "#uploads .upload.done")) == 1)
        ana.find("#input").send_keys("\n")  # files alone, no text
        bob.wait(lambda h=how: bob.driver.execute_script(
            "return [...document.querySelectorAll('#messages .attachment.image img')].some((i) => i.alt === arguments[0])", f"{h}.png"))
    assert bob.driver.execute_script("return document.querySelectorAll('#messages .attachment.image').length") == 3
    # A slow upload shows its progress, and Send waits for it.
    big = tmp_path / "archive.zip"
    big.write_bytes(os.urandom(1_500_000))
    ana.driver.set_network_conditions(offline=False, latency=5, download_throughput=10_000_000, upload_throughput=300_000)
    try:
        ana.driver.execute_script("document.getElementById('file-input').hidden = false")
        ana.find("#file-input").send_keys(str(big))
        ana.driver.execute_script("document.getElementById('file-input').hidden = true")
        ana.wait(lambda: ana.driver.execute_script(
            "const p = document.querySelector('#uploads progress'); return p !== null && p.value > 0.1 && p.value < 0.9"))
        ana.shot("upload-progress")
        ana.say("too early")
        assert "Wait until the files have uploaded" in ana.find("#banner").text or "Wait until" in ana.driver.page_source
    finally:
        ana.driver.delete_network_conditions()
    ana.wait(lambda: len(ana.driver.find_elements(By.CSS_SELECTOR, "#uploads .upload.done")) == 1, timeout=60)


def test_guests_have_no_attach_button(pages):
    ana = pages()
    ana.sign_in("guest", "ana")
    ana.signed_in()
    assert not ana.find("#attach-button").is_displayed()

def test_a_room_owner_makes_a_webhook_whose_posts_say_bot(server, pages):
    """The owner of a room makes a webhook in its settings and is shown its URL once; a POST
    there appears in the room under the bot's name with a BOT badge, for everyone; the owner
    revokes it and the URL is refused. A member sees no webhook section."""
    ana, bob = pages(), pages()
    ana.sign_in("register", "ana", "ana password")
    bob.sign_in("guest", "bob")
    ana.signed_in()
    bob.signed_in()
    ana.create_room("builds")
    ana.find("#settings-button").click()
    ana.wait(lambda: ana.find("#webhook-section").is_displayed() and "None yet." in ana.find("#webhooks").text)
    ana.find("#webhook-name").send_keys("bad name!\n")
    ana.wait(lambda: "bot's username" in ana.find("#room-error").text)
    ana.find("#webhook-name").clear()
    ana.find("#webhook-name").send_keys("ci-bot\n")
    ana.wait(lambda: ana.find("#webhook-url").is_displayed())
    url = ana.find("#webhook-url span").text
    assert url.startswith(f"http://127.0.0.1:{server.http_port}/api/webhooks/"), url
    ana.wait(lambda: "ci-bot" in ana.find("#webhooks").text and "ana" in ana.find("#webhooks").text)
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, '#room-members li[data-user="ci-bot"] .bot-badge'))
    ana.shot("webhook-created")
    ana.find("#room-dialog .dialog-head button").click()

    bob.say("/join builds")
    bob.wait(lambda: bob.title() == "#builds")
    request = urllib.request.Request(url, data=json.dumps({"text": "build 42 is *green*"}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.read() == b"ok"
    for page in (ana, bob):
        page.shows("build 42 is green")
        node = [m for m in page.driver.find_elements(By.CSS_SELECTOR, "#messages .msg") if "build 42" in m.text][-1]
        assert node.find_element(By.CSS_SELECTOR, ".author").text == "ci-bot"
        assert node.find_element(By.CSS_SELECTOR, ".bot-badge").text == "BOT"
    ana.wait(lambda: "BOT" in ana.find("#member-list").text)  # the side panel too
    ana.shot("webhook-message")
    # A member (here a guest) has no webhook tools.
    bob.find("#settings-button").click()
    bob.wait(lambda: bob.find("#room-dialog").is_displayed() and bob.driver.find_elements(By.CSS_SELECTOR, '#room-members li'))
    assert not bob.find("#webhook-section").is_displayed()
    # Revoked: the URL is refused.
    ana.find("#settings-button").click()
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, "#webhooks li[data-webhook] button"))
    assert not ana.find("#webhook-url").is_displayed()  # told once
    ana.find("#webhooks li[data-webhook] button").click()
    ana.driver.switch_to.alert.accept()
    ana.wait(lambda: "None yet." in ana.find("#webhooks").text)
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b'{"text":"again"}', method="POST"), timeout=10)
        raise AssertionError("a revoked webhook posted")
    except urllib.error.HTTPError as error:
        assert error.code == 404 and json.loads(error.read())["error"]["code"] == "webhook_not_found"
