// The review page's only script (served from /static/, as the CSP requires).
// Rubric items toggle by click or keys 1-9 without reloading; every write waits
// for the one before it, so each names the version the last one returned.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  const grading = document.getElementById("grading");
  let chain = Promise.resolve();

  function setVersion(version) {
    document.querySelectorAll('#grading input[name="version"]').forEach((input) => {
      input.value = String(version);
    });
    grading.dataset.version = String(version);
  }

  function showConflict(text) {
    const box = document.getElementById("conflict");
    box.textContent = text;
    box.hidden = false;
  }

  async function post(form) {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => null);
    if (response.status === 409) {
      const who = data && data.current ? data.current.grader : "someone";
      showConflict("Not saved: " + who + " changed this answer since you opened it. " +
        "Reload the page to see their grade.");
      grading.dataset.conflict = "1";
      return null;
    }
    if (!response.ok) {
      showConflict("Not saved: the server answered " + response.status + ".");
      return null;
    }
    return data;
  }

  function apply(data) {
    if (!data) return;
    setVersion(data.version);
    document.getElementById("score").textContent = String(data.score);
    document.getElementById("state").textContent = data.state.replace("_", " ");
    document.querySelectorAll("form.toggle").forEach((form) => {
      const id = form.querySelector('input[name="item"]').value;
      const on = data.items.includes(id);
      const button = form.querySelector("button");
      button.classList.toggle("on", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      form.querySelector('input[name="on"]').value = on ? "0" : "1";
    });
  }

  function queue(form) {
    chain = chain.then(() => (grading.dataset.conflict ? null : post(form))).then(apply);
    return chain;
  }

  if (grading) {
    document.querySelectorAll("form.toggle").forEach((form) => {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        queue(form);
      });
    });
    const save = document.getElementById("save");
    save.addEventListener("submit", (event) => {
      event.preventDefault();
      chain.then(() => { if (!grading.dataset.conflict) save.submit(); });
    });
    document.querySelectorAll("button.reuse-comment").forEach((button) => {
      button.addEventListener("click", () => {
        const box = document.getElementById("comment");
        const text = button.dataset.comment || "";
        box.value = box.value.trim() ? box.value.trim() + "\n" + text : text;
        box.focus();
      });
    });
    document.addEventListener("keydown", (event) => {
      const tag = event.target.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
        if (event.key === "Escape") event.target.blur();
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) save.requestSubmit();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (/^[1-9]$/.test(event.key)) {
        const button = document.querySelector('button.item[data-key="' + event.key + '"]');
        if (button) {
          event.preventDefault();
          button.form.requestSubmit();
        }
      } else if (event.key === "n") {
        event.preventDefault();
        save.requestSubmit();
      } else if (event.key === "c") {
        event.preventDefault();
        document.getElementById("comment").focus();
      }
    });
  }
  document.body.dataset.ready = "1";  // the keys work from here on
})();
