// The dashboard's only script, a file of its own: the page's Content-Security-Policy runs no inline code.
// A filter applies as soon as it is chosen (without script, the form's Apply button does it).
for (const select of document.querySelectorAll("form.filters select")) {
  select.addEventListener("change", () => select.form.submit());
}
