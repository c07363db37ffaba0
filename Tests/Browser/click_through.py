"""The dashboard clicked through on a phone-sized screen: the store and the pool signed out (no
owner, agent or instance shown), sign-in, a template made with the form (its markup-looking text
shown as text) and published, a claim from it that ends on its invite URL, the agent reaching Ready
in the live list, its detail with events, a failing step shown with its next retry, the pool resized with its form, a spec applied with the
CLI showing on the open page within a second, the agent deleted and followed until it is gone, and
sign-out. Every control on every view is labelled. Prints one line per step; exits non-zero at
the first that fails.
usage: CONTROLLER_URL=... CONTROLLER_API_TOKEN=... CONVOS_CONTROLLER_BIN=... SIM_URL=... python3 click_through.py"""
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from browser import BASE, TOKEN, api, click, goto, check_page, check_signed_out, run, until, view_text

SIGNED_OUT_ROUTES = ["#/store", "#/pools", "#/agents", "#/templates", "#/status", "#/agent/shown-agent", "#/claim/concierge"]


def cli(*arguments):
    return subprocess.run([os.environ["CONVOS_CONTROLLER_BIN"], *arguments], check=True, capture_output=True, text=True).stdout


def faults(settings):
    """Sets the simulated cloud's faults (`POST /_sim/faults`)."""
    request = urllib.request.Request(os.environ["SIM_URL"] + "/_sim/faults", data=json.dumps(settings).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=30).read()


def steps(d):
    d.get(BASE + "/")
    until(d, "the store's cards", lambda d: d.find_elements(By.CSS_SELECTOR, ".card h3"))
    print("store:", [e.text for e in d.find_elements(By.CSS_SELECTOR, ".card h3")])
    links = d.execute_script("return [...document.querySelectorAll('#view a')].map(a => a.textContent)")
    assert not [text for text in links if "Claim an agent" in text], "signed out, nothing to claim with"
    check_page(d, "store")
    print("signed out, nothing private on", len(SIGNED_OUT_ROUTES), "views; hidden:", check_signed_out(d, SIGNED_OUT_ROUTES), "values")

    goto(d, "#/signin", "Sign in")
    until(d, "the token field", lambda d: d.find_element(By.ID, "token")).send_keys(TOKEN)
    check_page(d, "sign-in")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(d, "the agents list", lambda d: "agent(s)" in view_text(d))
    print("signed in")

    # A template made with the form, its instructions holding markup that must stay text.
    goto(d, "#/templates", "Templates")
    until(d, "the template form", lambda d: d.find_element(By.ID, "t-id")).send_keys("browser-tmpl")
    d.find_element(By.ID, "t-name").send_keys("Browser Helper")
    d.find_element(By.ID, "t-instructions").send_keys('Helps <img src=x onerror="window.pwned=1"> from the browser.')
    d.find_element(By.ID, "t-model").send_keys("anthropic/claude-sonnet-4")
    d.find_element(By.ID, "t-tool-email").click()
    # Bankr with the user's own key: the claim form asks for it.
    d.find_element(By.ID, "t-tool-crypto").click()
    Select(d.find_element(By.ID, "t-mode-crypto")).select_by_value("user")
    check_page(d, "templates")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    click(d, "the publish button", By.ID, "publish-browser-tmpl")
    until(d, "published", lambda d: d.find_element(By.ID, "publish-browser-tmpl").text == "Unpublish browser-tmpl")
    print("template created and published")
    goto(d, "#/store", "Template store")
    until(d, "the store to show it", lambda d: "Browser Helper" in view_text(d))
    assert '<img src=x onerror="window.pwned=1">' in view_text(d), "markup in a value is shown as text"
    assert not d.find_elements(By.CSS_SELECTOR, "#view img") and not d.execute_script("return window.pwned"), "and never run"
    print("the store shows it, its markup as text")
    d.find_element(By.ID, "search").send_keys("browser")
    until(d, "the search to narrow the store", lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, ".card h3")] == ["Browser Helper"])
    print("search narrows the store to it")

    click(d, "the claim link", By.PARTIAL_LINK_TEXT, "Claim an agent from Browser Helper")
    until(d, "the claim form", lambda d: d.find_element(By.ID, "claim-agentName")).send_keys("Browser agent")
    d.find_element(By.ID, "claim-ownerId").send_keys("browser-owner")
    d.find_element(By.ID, "claim-user-bankrApiKey").send_keys("bk_browser_user_key")
    check_page(d, "claim")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    invite = until(d, "the invite URL", lambda d: d.find_element(By.ID, "invite"))
    assert invite.text.startswith("https://"), invite.text
    invite_url = invite.text
    print("claimed; invite:", invite.text)

    goto(d, "#/agents", "Agents")
    name = until(d, "the agent's row", lambda d: [r.find_element(By.CSS_SELECTOR, "td a").text
                                                  for r in d.find_elements(By.CSS_SELECTOR, "tbody tr") if "browser-tmpl" in r.text][0])
    loads = d.execute_script("return performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin")
    until(d, "Ready in the list", lambda d: "Ready" in [r for r in d.find_elements(By.CSS_SELECTOR, "tbody tr") if name in r.text][0].text)
    assert loads == d.execute_script("return performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin"), "no reload"
    check_page(d, "agents")
    print("ready in the list without a reload:", name)

    # A spec applied with the CLI shows on the open page within a second, without a reload. Its
    # email inbox fails to provision (AgentMail answers 503), so its detail shows the failing step.
    faults({"errorRate": 1, "providers": ["agentmail"]})
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as spec:
        spec.write("apiVersion: agents.convos.org/v1\nkind: Agent\nmetadata: {name: cli-agent}\nspec: {template: concierge, owner: cli-owner}\n")
        spec.flush()
        cli("apply", "-f", spec.name)
        applied = time.monotonic()
        until(d, "the CLI's agent on the open page", lambda d: "cli-agent" in d.find_element(By.CSS_SELECTOR, "tbody").text, seconds=1)
        shown = time.monotonic() - applied
    assert loads == d.execute_script("return performance.getEntriesByType('navigation').length + ':' + performance.timeOrigin"), "no reload"
    print(f"a CLI apply showed on the open page in {shown * 1000:.0f} ms (bound 1000 ms)")
    click(d, "the CLI's agent", By.LINK_TEXT, "cli-agent")
    until(d, "the failing step", lambda d: "Next retry" in d.find_element(By.ID, "retrying").text)
    failing = d.find_element(By.ID, "retrying").text
    assert "email" in failing and "attempt" in failing, failing
    print("the failing step shown apart:", " ".join(failing.split()))
    faults({})
    until(d, "the step to pass once AgentMail answers", lambda d: d.find_element(By.ID, "retrying").text == ""
          and d.find_element(By.CSS_SELECTOR, ".summary .phase").text == "Ready")
    print("and gone once it passed; the agent is Ready")
    goto(d, "#/agents", "Agents")
    until(d, "the list", lambda d: d.find_elements(By.LINK_TEXT, name))

    click(d, "the agent", By.LINK_TEXT, name)
    until(d, "the detail's events", lambda d: "Claimed" in d.find_element(By.ID, "events").text)
    tools = d.find_element(By.ID, "tools").text
    assert "browser-owner" in view_text(d) and "email, from the pool" in tools and "crypto, brought by the user" in tools, tools
    assert "bk_browser_user_key" not in d.page_source, "the user's key is never shown"
    assert d.find_element(By.ID, "invite").text == invite_url and d.find_element(By.ID, "copy-invite").text == "Copy"
    until(d, "the instance", lambda d: "claimed" in d.find_element(By.ID, "instance").text)
    check_page(d, "agent detail")
    print("detail shows its conditions, tools, instance and events")

    goto(d, "#/pools", "Pools")
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

    goto(d, "#/templates", "Templates")
    click(d, "the template's delete button", By.ID, "delete-browser-tmpl")
    d.switch_to.alert.accept()
    until(d, "the refusal", lambda d: "was not deleted" in d.find_element(By.ID, "template-message").text)
    assert api("/v1/agenttemplates/browser-tmpl")["metadata"]["name"] == "browser-tmpl"
    print("deleting a template in use is refused, saying why:", d.find_element(By.ID, "template-message").text)

    goto(d, "#/status", "Status")
    until(d, "the status tables", lambda d: "Providers" in view_text(d) and "railway" in view_text(d))
    check_page(d, "status")
    print("status shows providers and instances")

    goto(d, f"#/agent/{name}", name)
    click(d, "the delete button", By.XPATH, "//button[text()='Delete']")
    d.switch_to.alert.accept()
    until(d, "the agent gone", lambda d: d.find_elements(By.ID, "gone"))
    print("deleted and gone:", name)

    click(d, "sign-out", By.ID, "sign-out")
    until(d, "signed out", lambda d: d.find_elements(By.LINK_TEXT, "Sign in"))
    print("signed out, nothing private on", len(SIGNED_OUT_ROUTES), "views; hidden:", check_signed_out(d, SIGNED_OUT_ROUTES), "values")


run(steps)
