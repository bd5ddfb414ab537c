/* The keys page: make a signing key in this browser (signing.js), save its
 * passphrase-protected key file, and register the public half through the page's
 * own registration form. */
(function () {
  "use strict";

  const btn = document.getElementById("btn-make-key");
  if (!btn) return;
  const S = JSON.parse(document.getElementById("keys-i18n").textContent);
  const msg = document.getElementById("make-msg");

  function say(text, error) {
    msg.hidden = false;
    msg.textContent = text;
    msg.className = "msg " + (error ? "msg-error" : "msg-info");
  }

  btn.addEventListener("click", async () => {
    const pass = document.getElementById("new-pass").value;
    if (pass.length < 8) return say(S.short, true);
    if (pass !== document.getElementById("new-pass2").value) return say(S.mismatch, true);
    btn.disabled = true;
    try {
      say(S.making);
      const G = window.GGZY.signing;
      const pair = await G.generate();
      G.download(await G.keyFile(pair, pass), btn.dataset.filename);
      const form = document.getElementById("key-form");
      form.elements.purpose.value = "signing";
      form.elements.public_key.value = await G.publicB64(pair);
      if (!form.elements.label.value) form.elements.label.value = S.label;
      say(S.registering);
      form.submit();
    } catch (e) {
      say(S.failed + " " + (e && e.message ? e.message : e), true);
      btn.disabled = false;
    }
  });
})();
