// Keep a draft of the on-site entry form in localStorage, so a failed submit (no network) loses nothing.
(function () {
  var form = document.getElementById("problem-entry");
  if (!form || !window.localStorage) return;
  var key = form.dataset.draftKey;
  var fields = ["enterprise", "category", "description", "department", "resolution"];
  function save() {
    var draft = {};
    fields.forEach(function (name) { if (form.elements[name]) draft[name] = form.elements[name].value; });
    draft.resolved_on_site = form.elements.resolved_on_site && form.elements.resolved_on_site.checked;
    try { localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* storage full or disabled */ }
  }
  var raw = null;
  try { raw = localStorage.getItem(key); } catch (e) { raw = null; }
  // The server re-renders a refused form with what was typed; restore only into an empty form.
  if (raw && form.elements.description && !form.elements.description.value) {
    var draft = JSON.parse(raw);
    fields.forEach(function (name) { if (form.elements[name] && draft[name] !== undefined) form.elements[name].value = draft[name]; });
    if (form.elements.resolved_on_site) form.elements.resolved_on_site.checked = !!draft.resolved_on_site;
    if (draft.description) document.getElementById("draft-restored").classList.remove("d-none");
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("submit", function (event) {
    save();
    if (!window.fetch || !window.FormData) return;
    // Send it ourselves: when the network fails the page and the draft stay.
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
    fetch(form.action || window.location.href, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected && response.ok) {
          localStorage.removeItem(key);
          window.location.assign(response.url);
          return;
        }
        return response.text().then(function (html) {
          document.open(); document.write(html); document.close();
        });
      })
      .catch(function () {
        var note = document.getElementById("draft-restored");
        note.classList.remove("d-none");
        note.classList.replace("alert-info", "alert-warning");
      });
  });
})();
