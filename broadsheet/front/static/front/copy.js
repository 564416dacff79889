// Copy buttons: <button data-copy="ID"> copies the text of the element with that id and says
// so in the next .copy-status element. The text stays selectable for browsers without a
// clipboard API (or without the permission).
"use strict";
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    if (status) status.textContent = "Copied";
  } catch {
    window.getSelection().selectAllChildren(source);
    if (status) status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
  }
});
