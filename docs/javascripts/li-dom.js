/* DOM helpers shared by the interactive pages; exposes window.LiDom. */
(function () {
  "use strict";

  /* el("button", {class: "x", text: "label", "aria-label": "…"}, [children]) */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  window.LiDom = { el: el };
})();
