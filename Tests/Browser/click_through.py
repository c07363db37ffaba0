"""The dashboard clicked through on a phone-sized screen: the store and the pool signed out (no
owner, agent or instance shown), sign-in, a template made with the form (its markup-looking text
shown as text) and published, a claim from it that ends on its invite URL, the agent reaching Ready
in the live list, its detail with events, the pool resized with its form, a spec applied with the
CLI showing on the open page within a second, the agent deleted and followed until it is gone, and
sign-out. Every control on every view is labelled. Prints one line per step; exits non-zero at
the first that fails.
usage: CONTROLLER_URL=... CONTROLLER_API_TOKEN=... CONVOS_CONTROLLER_BIN=... python3 click_through.py"""
import os
import subprocess
import tempfile
import time
from selenium.webdriver.common.by import By
from browser import BASE, TOKEN, api, check_page, check_signed_out, run, until, view_text

SIGNED_OUT_ROUTES = ["#/store", "#/pools", "#/agents", "#/templates", "#/status", "#/agent/shown-agent", "#/claim/concierge"]


def cli(*arguments):
    return subprocess.run([os.environ["CONVOS_CONTROLLER_BIN"], *arguments], check=True, capture_output=True, text=True).stdout


def steps(d):
    d.get(BASE + "/")
    until(d, "the store's cards", lambda d: d.find_elements(By.CSS_SELECTOR, ".card h3"))
    print("store:", [e.text for e in d.find_elements(By.CSS_SELECTOR, ".card h3")])
    links = d.execute_script("return [...document.querySelectorAll('#view a')].map(a => a.textContent)")
    assert not [text for text in links if "Claim an agent" in text], "signed out, nothing to claim with"
    check_page(d, "store")
    print("signed out, nothing private on", len(SIGNED_OUT_ROUTES), "views; hidden:", check_signed_out(d, SIGNED_OUT_ROUTES), "values")

    d.get(BASE + "/#/signin")
    until(d, "the token field", lambda d: d.find_element(By.ID, "token")).send_keys(TOKEN)
    check_page(d, "sign-in")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(d, "the agents list", lambda d: "agent(s)" in view_text(d))
    print("signed in")

    # A template made with the form, its instructions holding markup that must stay text.
    d.get(BASE + "/#/templates")
    until(d, "the template form", lambda d: d.find_element(By.ID, "t-id")).send_keys("browser-tmpl")
    d.find_element(By.ID, "t-name").send_keys("Browser Helper")
    d.find_element(By.ID, "t-instructions").send_keys('Helps <img src=x onerror="window.pwned=1"> from the browser.')
    d.find_element(By.ID, "t-model").send_keys("anthropic/claude-sonnet-4")
    d.find_element(By.ID, "t-tool-email").click()
    check_page(d, "templates")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(d, "the publish button", lambda d: d.find_element(By.ID, "publish-browser-tmpl")).click()
    until(d, "published", lambda d: d.find_element(By.ID, "publish-browser-tmpl").text == "Unpublish browser-tmpl")
    print("template created and published")
    d.get(BASE + "/#/store")
    until(d, "the store to show it", lambda d: "Browser Helper" in view_text(d))
    assert '<img src=x onerror="window.pwned=1">' in view_text(d), "markup in a value is shown as text"
    assert not d.find_elements(By.CSS_SELECTOR, "#view img") and not d.execute_script("return window.pwned"), "and never run"
    print("the store shows it, its markup as text")

    d.find_element(By.PARTIAL_LINK_TEXT, "Claim an agent from Browser Helper").click()
    until(d, "the claim form", lambda d: d.find_element(By.ID, "claim-agentName")).send_keys("Browser agent")
    d.find_element(By.ID, "claim-ownerId").send_keys("browser-owner")
    check_page(d, "claim")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    invite = until(d, "the invite URL", lambda d: d.find_element(By.ID, "invite"))
    assert invite.text.startswith("https://"), invite.text
    print("claimed; invite:", invite.text)

    d.get(BASE + "/#/agents")
    until(d, "the list", lambda d: d.find_elements(By.CSS_SELECTOR, "tbody tr td a"))
    row = [a for a in d.find_elements(By.CSS_SELECTOR, "tbody tr") if "browser-tmpl" in a.text][0]
    name = row.find_element(By.CSS_SELECTOR, "td a").text
    loads = d.execute_script("return performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin")
    until(d, "Ready in the list", lambda d: "Ready" in [r for r in d.find_elements(By.CSS_SELECTOR, "tbody tr") if name in r.text][0].text)
    assert loads == d.execute_script("return performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin"), "no reload"
    check_page(d, "agents")
    print("ready in the list without a reload:", name)

    # A spec applied with the CLI shows on the open page within a second, without a reload.
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as spec:
        spec.write("apiVersion: agents.convos.org/v1\nkind: Agent\nmetadata: {name: cli-agent}\nspec: {template: browser-tmpl, owner: cli-owner}\n")
        spec.flush()
        cli("apply", "-f", spec.name)
        applied = time.monotonic()
        until(d, "the CLI's agent on the open page", lambda d: "cli-agent" in d.find_element(By.CSS_SELECTOR, "tbody").text, seconds=1)
        shown = time.monotonic() - applied
    assert loads == d.execute_script("return performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin"), "no reload"
    print(f"a CLI apply showed on the open page in {shown * 1000:.0f} ms (bound 1000 ms)")

    d.find_element(By.LINK_TEXT, name).click()
    until(d, "the detail's events", lambda d: "Claimed" in d.find_element(By.ID, "events").text)
    assert "browser-owner" in view_text(d) and "email" in d.find_element(By.ID, "tools").text
    until(d, "the instance", lambda d: "claimed" in d.find_element(By.ID, "instance").text)
    check_page(d, "agent detail")
    print("detail shows its conditions, tools, instance and events")

    d.get(BASE + "/#/pools")
    until(d, "the pool form", lambda d: d.find_element(By.ID, "default-minIdle").get_attribute("value") != "")
    assert "Ready" in view_text(d) and "Progressing" in view_text(d), "the pool's conditions"
    check_page(d, "pools")
    field = d.find_element(By.ID, "default-minIdle")
    field.clear()
    field.send_keys("3")
    d.find_element(By.ID, "default-save").click()
    until(d, "minIdle saved", lambda d: api("/v1/pools/default")["spec"]["minIdle"] == 3)
    until(d, "the pool growing", lambda d: "3 idle" in view_text(d) or int(d.find_element(By.ID, "default-provisioning").text) > 0)
    print("pool resized with its form; conditions shown")

    d.get(BASE + "/#/status")
    until(d, "the status tables", lambda d: "Providers" in view_text(d) and "railway" in view_text(d))
    check_page(d, "status")
    print("status shows providers and instances")

    d.get(BASE + f"/#/agent/{name}")
    until(d, "the delete button", lambda d: d.find_element(By.XPATH, "//button[text()='Delete']")).click()
    d.switch_to.alert.accept()
    until(d, "the agent gone", lambda d: d.find_elements(By.ID, "gone"))
    print("deleted and gone:", name)

    d.find_element(By.ID, "sign-out").click()
    until(d, "signed out", lambda d: d.find_elements(By.LINK_TEXT, "Sign in"))
    print("signed out, nothing private on", len(SIGNED_OUT_ROUTES), "views; hidden:", check_signed_out(d, SIGNED_OUT_ROUTES), "values")


run(steps)
