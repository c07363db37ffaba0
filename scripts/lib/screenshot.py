"""Signs in to the dashboard in headless Chromium and writes screenshots: the agents list on a
desktop window (docs/dashboard.png) and an agent's detail on a phone (docs/dashboard-phone.png).
usage: CONTROLLER_URL=... CONTROLLER_API_TOKEN=... python3 screenshot.py AGENT OUT_DIR"""
import os
import sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, token = os.environ["CONTROLLER_URL"], os.environ["CONTROLLER_API_TOKEN"]
agent, out = sys.argv[1], sys.argv[2]


def shoot(size, phone, route, ready, path):
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={size}"]:
        options.add_argument(argument)
    if phone:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        wait = WebDriverWait(d, 60, ignored_exceptions=(Exception,))
        d.get(base + "/#/signin")
        wait.until(lambda d: d.find_element(By.ID, "token")).send_keys(token)
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(lambda d: d.find_element(By.ID, "sign-out"))
        d.get(base + "/" + route)
        wait.until(ready)
        d.save_screenshot(path)
    finally:
        d.quit()


shoot("1280,720", False, "#/agents", lambda d: len(d.find_elements(By.CSS_SELECTOR, "td.phase.Ready")) >= 3, f"{out}/dashboard.png")
shoot("390,844", True, f"#/agent/{agent}", lambda d: "Claimed" in d.find_element(By.ID, "events").text, f"{out}/dashboard-phone.png")
print("screenshots in", f"{out}/dashboard.png", "and", f"{out}/dashboard-phone.png")
