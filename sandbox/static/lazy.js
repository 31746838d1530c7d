// Lazy images: the real URL is in data-src and is loaded only when the image scrolls into view.
(function () {
  function load(img) {
    if (img.dataset.src) { img.src = img.dataset.src; img.removeAttribute("data-src"); img.classList.add("loaded"); }
  }
  function scan(root) {
    var imgs = (root || document).querySelectorAll("img[data-src]");
    if (!("IntersectionObserver" in window)) { imgs.forEach(load); return; }
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { load(e.target); io.unobserve(e.target); } });
    });
    imgs.forEach(function (img) { io.observe(img); });
  }
  window.sbxLazyScan = scan;
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", function () { scan(); }); }
  else { scan(); }
})();
