"""The claim flow by keyboard alone, on a phone-sized screen: from the page's first load, Tab and
Enter reach sign-in, the token is typed and sent, the store is reached, a template's claim link
opened, the form filled and sent with Enter; focus lands on the invite URL, and Tab then Enter
copies it. Nothing is clicked. Prints one line per step; exits non-zero at the first that fails.
usage: CONTROLLER_URL=... CONTROLLER_API_TOKEN=... python3 keyboard_claim.py"""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from browser import BASE, TOKEN, run, until, view_text


def focused(d):
    """The focused element's id and text, read at once: a live update may replace the element
    (the page gives focus back to its successor), so no reference to it is kept."""
    return d.execute_script("const e = document.activeElement; return {id: e.id, text: e.textContent.trim()}")


def press(d, *keys):
    """Keys sent to whatever has focus, as a keyboard does."""
    ActionChains(d).send_keys(*keys).perform()


def tab_to(d, what, matches, back=False, limit=60):
    """Presses Tab (Shift+Tab when `back`) until the focused element matches; fails naming `what`."""
    for _ in range(limit):
        if matches(focused(d)):
            return
        if back:
            ActionChains(d).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        else:
            press(d, Keys.TAB)
    raise AssertionError(f"Tab never reached {what}; focus is on {focused(d)}")


def text_is(text):
    return lambda e: e["text"] == text


def id_is(name):
    return lambda e: e["id"] == name


def steps(d):
    d.get(BASE + "/")
    until(d, "the store", lambda d: d.find_elements(By.CSS_SELECTOR, ".card h3"))
    tab_to(d, "the Sign in link", text_is("Sign in"))
    press(d, Keys.ENTER)
    until(d, "the sign-in form", lambda d: d.find_elements(By.ID, "token"))
    tab_to(d, "the token field", id_is("token"))
    press(d, TOKEN, Keys.ENTER)
    until(d, "signed in", lambda d: d.find_elements(By.ID, "sign-out"))
    print("signed in by keyboard")

    until(d, "the agents view", lambda d: "agent(s)" in view_text(d) or "No agent yet" in view_text(d))
    tab_to(d, "the store's link", text_is("Template store"), back=True)
    press(d, Keys.ENTER)
    until(d, "the store's claim links", lambda d: d.find_elements(By.PARTIAL_LINK_TEXT, "Claim an agent from"))
    tab_to(d, "a claim link", lambda e: e["text"].startswith("Claim an agent from Concierge"))
    press(d, Keys.ENTER)
    until(d, "the claim form", lambda d: d.find_elements(By.ID, "claim-agentName"))
    tab_to(d, "the agent name field", id_is("claim-agentName"))
    press(d, "Keyboard agent")
    tab_to(d, "the owner field", id_is("claim-ownerId"))
    press(d, "keyboard-owner", Keys.ENTER)
    print("claim sent by keyboard")

    until(d, "focus on the invite URL", lambda d: focused(d)["id"] == "invite")
    invite = focused(d)["text"]
    assert invite.startswith("https://"), invite
    print("focus on the invite:", invite)
    tab_to(d, "the copy button", id_is("copy-invite"))
    press(d, Keys.ENTER)
    until(d, "copied", lambda d: focused(d)["text"] in ("Copied", "Select and copy the link"))
    print("copy button:", focused(d)["text"])


run(steps)
