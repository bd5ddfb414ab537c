/* The contract page: a party signs a version with its signing key file in this browser
 * (signing.js); only the signature is posted, with the page's form. */
(function () {
  "use strict";

  const data = document.getElementById("contract-i18n");
  if (!data) return;
  const S = JSON.parse(data.textContent);

  for (const form of document.querySelectorAll("form.sign-form")) {
    const btn = form.querySelector(".sign-button");
    const msg = form.querySelector(".sign-msg");
    const say = (text, error) => {
      msg.hidden = false;
      msg.textContent = text;
      msg.className = "msg sign-msg " + (error ? "msg-error" : "msg-info");
    };
    btn.addEventListener("click", async () => {
      const file = form.querySelector(".sign-key").files[0];
      if (!file) return say(S.noFile, true);
      btn.disabled = true;
      try {
        say(S.signing);
        const out = await window.GGZY.signing.signWithKeyFile(
          file, form.querySelector(".sign-pass").value, form.dataset.label, form.dataset.message);
        const registered = form.dataset.fingerprint;
        if (registered && out.fingerprint !== registered) {
          btn.disabled = false;
          return say(S.wrongKey.replace("%(fp)s", registered.slice(0, 16)), true);
        }
        form.elements.signature.value = out.signature;
        form.submit();
      } catch (e) {
        btn.disabled = false;
        say(S.failed + " " + (e && e.message ? e.message : e), true);
      }
    });
  }
})();
