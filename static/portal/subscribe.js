// Shows only the address field of the chosen channel. Without script both stay visible and work.
(function () {
  var form = document.querySelector("[data-subscribe-form]");
  if (!form) return;
  var fields = { email: form.querySelector("[data-channel-field=email]"), sms: form.querySelector("[data-channel-field=sms]") };
  function show() {
    var chosen = form.querySelector("input[name=channel]:checked");
    Object.keys(fields).forEach(function (channel) {
      if (fields[channel]) fields[channel].hidden = !chosen || chosen.value !== channel;
    });
  }
  form.addEventListener("change", show);
  show();
})();
