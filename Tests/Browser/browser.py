"""What the dashboard's browser tests share: headless Chromium (Debian's chromium and
chromium-driver, Selenium from PyPI) on a phone-sized screen, reading the controller's API with
its token, and the page-wide checks: every control labelled, nothing wider than the screen, and
nothing private on the page when signed out."""
import json
import os
import sys
import traceback
import urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["CONTROLLER_URL"]
TOKEN = os.environ["CONTROLLER_API_TOKEN"]
PHONE = {"width": 390, "height": 844}


def driver():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,844"]:
        options.add_argument(argument)
    # A phone's viewport, not the desktop window headless Chromium will not make narrower than 500 px.
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {**PHONE, "pixelRatio": 2}})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def api(path):
    request = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def until(d, what, predicate, seconds=60):
    """Waits for predicate(d) to hold; the failure names `what`."""
    return WebDriverWait(d, seconds, poll_frequency=0.05, ignored_exceptions=(Exception,)).until(predicate, message=what)


def goto(d, route, heading):
    """Opens `route` and waits for its view: a change of the hash alone leaves the last view up
    until the new one is drawn, so its heading says when."""
    d.get(BASE + "/" + route)
    until(d, f"{route} drawn", lambda d: d.find_element(By.CSS_SELECTOR, "#view h2").text == heading)


def click(d, what, by, value):
    """Clicks the element `value` finds, again if a live update replaced it meanwhile. The click
    is the element's own (a DOM click, as Enter on it would be), not a pointer at its place on
    the screen: a live list may move its rows between finding one and pressing there. It runs
    after the script returns, so a confirm() it opens does not hold the script up."""
    until(d, what, lambda d: d.execute_script("const e = arguments[0]; setTimeout(() => e.click()); return true", d.find_element(by, value)))


def view_text(d):
    return d.find_element(By.ID, "view").text


# Every form control and button named for assistive technology: a <label>, aria-label or text.
UNLABELLED = """
return [...document.querySelectorAll('input, select, textarea, button, a[href]')].filter(c => {
  if (c.type === 'hidden' || c.getAttribute('aria-hidden') === 'true') return false;
  const name = (c.labels && [...c.labels].map(l => l.textContent).join(' ').trim()) || c.getAttribute('aria-label') || c.textContent.trim();
  return !name;
}).map(c => c.outerHTML.slice(0, 120));
"""


def check_page(d, where):
    """Every control labelled and the page no wider than the phone: fails naming what is not."""
    unlabelled = d.execute_script(UNLABELLED)
    assert not unlabelled, f"{where}: controls without a label: {unlabelled}"
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{where}: the page is {width} px wide on a {PHONE['width']} px screen"


def private_values():
    """Owners, agent names and instance ids the controller holds: none may show signed out."""
    agents = api("/v1/agents")["items"]
    instances = api("/v1/instances")["items"]
    values = {a["metadata"]["name"] for a in agents} | {a["spec"]["owner"] for a in agents} | {i["id"] for i in instances}
    return values


def check_signed_out(d, routes):
    """Signed out, no route shows an owner, agent or instance, in its text or its markup."""
    private = private_values()
    assert private, "the test needs agents to hide"
    for route in routes:
        # A full load each time: a change of the hash alone would leave the last view up a moment.
        d.get("about:blank")
        d.get(BASE + "/" + route)
        until(d, f"{route} drawn", lambda d: d.execute_script("return !!document.querySelector('#view h2')"))
        source = d.page_source
        shown = sorted(v for v in private if v in source)
        assert not shown, f"signed out, {route} shows {shown}"
        check_page(d, route)
    return len(private)


def run(steps):
    """Runs steps(d) in a fresh browser; on failure prints the step and the page, exits 1."""
    d = driver()
    try:
        steps(d)
    except Exception as error:
        print("failed:", type(error).__name__, error)
        print("at:", " < ".join(f"{f.name}:{f.lineno}" for f in reversed(traceback.extract_tb(error.__traceback__))))
        try:
            print("page:", d.find_element(By.TAG_NAME, "body").text[:2000])
        except Exception:
            pass
        sys.exit(1)
    finally:
        d.quit()
