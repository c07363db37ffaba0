"""The dashboard clicked through in headless Chromium (Debian's chromium and chromium-driver,
Selenium from PyPI): the store, sign-in, a claim that ends on its invite URL, the agent live in
the list, its detail with events, and its deletion followed until it is gone. Prints one line per
step; exits non-zero at the first that fails.
usage: python3 click_through.py BASE_URL TOKEN"""
import sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base, token = sys.argv[1], sys.argv[2]
options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,844"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 60)
find = lambda how, what: wait.until(EC.presence_of_element_located((how, what)))
try:
    driver.get(base + "/app/")
    find(By.CSS_SELECTOR, ".card h3")
    print("store:", [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".card h3")])
    assert not driver.find_elements(By.PARTIAL_LINK_TEXT, "Claim an agent"), "signed out, nothing to claim with"
    driver.find_element(By.LINK_TEXT, "Sign in").click()
    find(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    find(By.CSS_SELECTOR, "table")
    print("signed in")
    # A template made with the form, then published: the store shows it.
    driver.get(base + "/app/#/templates")
    find(By.ID, "t-id").send_keys("browser-tmpl")
    driver.find_element(By.ID, "t-name").send_keys("Browser Helper")
    driver.find_element(By.ID, "t-instructions").send_keys("Helps from the browser.")
    driver.find_element(By.ID, "t-model").send_keys("anthropic/claude-sonnet-4")
    driver.find_element(By.ID, "t-tool-email").click()
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    find(By.XPATH, "//button[text()='Publish browser-tmpl']").click()
    find(By.XPATH, "//button[text()='Unpublish browser-tmpl']")
    print("template created and published")
    driver.get(base + "/app/#/store")
    WebDriverWait(driver, 60).until(lambda d: "Browser Helper" in d.find_element(By.ID, "view").text)
    print("the store shows it")
    find(By.PARTIAL_LINK_TEXT, "Claim an agent from Concierge").click()
    find(By.ID, "agentName").send_keys("Browser agent")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    invite = WebDriverWait(driver, 60).until(EC.presence_of_element_located((By.ID, "invite")))
    assert invite.text.startswith("https://"), invite.text
    print("invite:", invite.text)
    driver.get(base + "/app/#/agents")
    row = find(By.CSS_SELECTOR, "tbody tr td a")
    name = row.text
    WebDriverWait(driver, 60).until(lambda d: "Ready" in d.find_element(By.CSS_SELECTOR, "tbody").text)
    print("ready in the list without a reload:", name)
    row.click()
    WebDriverWait(driver, 60).until(lambda d: "Claimed" in d.find_element(By.ID, "view").text)
    print("detail shows its events")
    driver.find_element(By.XPATH, "//button[text()='Delete']").click()
    driver.switch_to.alert.accept()
    WebDriverWait(driver, 60).until(lambda d: "is gone" in d.find_element(By.ID, "view").text)
    print("deleted:", name)
except Exception as error:
    # What the page said when a step failed: the test prints it.
    print("failed:", type(error).__name__, error)
    print("page:", driver.find_element(By.TAG_NAME, "body").text[:2000])
    sys.exit(1)
finally:
    driver.quit()
