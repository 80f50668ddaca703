// Small enhancements; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms apply as soon as a choice changes.
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    for (const select of form.querySelectorAll("select")) {
      select.addEventListener("change", () => form.requestSubmit());
    }
  }
  // "Copy" buttons next to secret addresses.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.textContent = button.dataset.done;
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(target);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
  }
  // Weekday choices only matter for weekly repetition.
  const freq = document.getElementById("freq");
  const days = document.getElementById("weekdays");
  if (freq && days) {
    const sync = () => { days.hidden = freq.value !== "WEEKLY"; };
    freq.addEventListener("change", sync);
    sync();
  }
});
