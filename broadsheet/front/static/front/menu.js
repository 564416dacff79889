// The header's menu on narrow screens: a "Menu" button shows and hides the site's links.
// Loaded in <head> without defer, so the collapsed header is the first one painted; without
// JavaScript the links simply show (the `js-menu` class is never set).
"use strict";
document.documentElement.classList.add("js-menu");

document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".menu-toggle");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (menu) {
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
  }
  // The account menu closes on Escape and on a click elsewhere, like other menus.
  const account = document.querySelector(".account-menu");
  if (account) {
    document.addEventListener("click", (event) => {
      if (account.open && !account.contains(event.target)) account.open = false;
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && account.open) {
        account.open = false;
        account.querySelector("summary").focus();
      }
    });
  }
});
