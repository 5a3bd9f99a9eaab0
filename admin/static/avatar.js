// Avatars: a Gravatar that cannot be loaded (Gravatar unreachable from the viewer's network, say) is
// removed, so the user's initial under it shows instead of a broken image. Someone without a
// Gravatar needs nothing of this: the picture is asked for with d=blank and is transparent.
(function () {
  "use strict";
  document.querySelectorAll(".avatar img").forEach(function (img) {
    function drop() { img.remove(); }
    if (img.complete && img.naturalWidth === 0) {
      drop();
    } else {
      img.addEventListener("error", drop);
    }
  });
})();
