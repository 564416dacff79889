// Save to / remove from a collection, and "not interested", without a page reload.
// Without JavaScript the same forms post and redirect back.
async function postForJson(form) {
  // getAttribute: form.action would be the form's input named "action".
  const response = await fetch(form.getAttribute("action"), {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || "Could not save. Try again.");
  return data;
}

function showError(form, message) {
  let note = form.querySelector(".collect-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "collect-error";
    note.setAttribute("role", "alert");
    form.append(note);
  }
  note.textContent = message;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const collect = form.classList.contains("collect-form");
  const dismiss = form.classList.contains("dismiss-form");
  if (!collect && !dismiss) return;
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const data = await postForJson(form);
    if (dismiss) {
      form.closest(".card").remove();
      return;
    }
    const action = form.querySelector("input[name=action]");
    action.value = data.inCollection ? "remove" : "add";
    button.setAttribute("aria-pressed", String(data.inCollection));
    button.title = data.inCollection ? "Remove from this collection" : "Add to this collection";
    const menu = form.closest(".collect");
    const saved = menu.querySelector(".collect-button[aria-pressed=true]");
    menu.querySelector(".collect-summary").textContent = saved ? "Saved" : "Save";
  } catch (err) {
    if (err instanceof TypeError) form.submit();  // network trouble: the plain form post
    else showError(form, err.message);
  } finally {
    button.disabled = false;
  }
});
