// Upvote without a page reload. Without JavaScript the same form posts and redirects back.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("vote-form")) return;
  event.preventDefault();
  const button = form.querySelector(".vote-button");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && data.login_url) {
      window.location.href = data.login_url;
      return;
    }
    if (!response.ok) {
      let note = form.querySelector(".vote-error");
      if (!note) {
        note = document.createElement("p");
        note.className = "vote-error";
        note.setAttribute("role", "alert");
        form.append(note);
      }
      note.textContent = data.error || "Could not vote. Try again.";
      return;
    }
    button.classList.toggle("voted", data.upvoted);
    button.setAttribute("aria-pressed", String(data.upvoted));
    button.title = data.upvoted ? "Remove your upvote" : "Upvote";
    button.querySelector(".vote-count").textContent = data.votes.toLocaleString("en-US");
  } catch (err) {
    form.submit();  // network trouble: fall back to the plain form post
  } finally {
    button.disabled = false;
  }
});
