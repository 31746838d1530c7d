// Cookie consent overlay: blocks the page until the visitor answers, like real shops do.
(function () {
  function answer(value) {
    document.cookie = "sbx_consent=" + value + "; path=/; max-age=31536000; SameSite=Lax";
    var o = document.getElementById("consent-overlay");
    if (o) { o.remove(); }
  }
  var a = document.getElementById("consent-accept");
  var r = document.getElementById("consent-reject");
  if (a) { a.addEventListener("click", function () { answer("all"); }); }
  if (r) { r.addEventListener("click", function () { answer("necessary"); }); }
})();
