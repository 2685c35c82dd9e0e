/* The map of representations: 2,000 test digits placed by PCA on three maps (the
 * pixels, the two-layer network's hidden layer, the convnet's last hidden layer),
 * as the features chapter's figure shows them, to explore:
 * - hover (or tap) a point: its digit and both networks' answers;
 * - choose a cell of a network's confusion matrix: its points stand out;
 * - draw a digit: it is placed on the map by the same two axes, live.
 *
 * The data (representation-map.json and its sprite of the digits) are written by the
 * build from the same cached results as the figure. The figure is the fallback for
 * readers without JavaScript or if the data fail (map.css hides it otherwise, so it
 * is never downloaded); the data load when the map nears the viewport, the sprite
 * when the reader first comes to the map.
 *
 * Needs li-dom.js, digit-core.js and digit-pad.js. Test hooks: window.__map.
 */
(function () {
  "use strict";

  var el = window.LiDom.el;
  var NAMES = { pixels: "像素", "mnist-2layer": "双层网络的隐藏层",
    "mnist-conv": "卷积网络的最后一个隐藏层" };
  var NETS = { "mnist-2layer": "双层网络", "mnist-conv": "卷积网络" };
  var MARGIN = 0.04; // room around the points, as in the figure (maps.py)
  var DOT = 3; // CSS px, as in the figure
  var HOVER_PX = 12, TAP_PX = 22; // how far from a point a pointer still picks it

  /* ---- decoding ------------------------------------------------------------------- */

  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function float32s(b64) {
    var u = bytes(b64), dv = new DataView(u.buffer), out = new Float64Array(u.length / 4);
    for (var i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }

  function uint16s(b64) {
    var u = bytes(b64), dv = new DataView(u.buffer), out = new Uint16Array(u.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = dv.getUint16(2 * i, true);
    return out;
  }

  function pct(permille) {
    return (permille / 10).toFixed(1) + "%";
  }

  /* ---- the networks' layers up to the mapped hidden layer, in float64 ---------------- */

  function act(kind, v) {
    return kind === "sigmoid" ? 1 / (1 + Math.exp(-v)) : Math.max(0, v);
  }

  /* x: Float64Array(784) of ink in [0, 1] -> the representation the map was made of. */
  function forward(net, x) {
    var a = x, side = 28;
    net.layers.forEach(function (layer) {
      var w = layer.w, b = layer.b, s = layer.shape, out, o, i;
      if (layer.kind === "linear") {
        out = new Float64Array(s[0]);
        for (o = 0; o < s[0]; o++) {
          var z = b[o], row = o * s[1];
          for (i = 0; i < s[1]; i++) z += w[row + i] * a[i];
          out[o] = act(net.activation, z);
        }
        a = out;
        return;
      }
      // Convolution (valid), activation, 2x2 max pooling, channels first (as torch).
      var k = s[2], c = s[1], n = side - k + 1, half = Math.floor(n / 2);
      var conv = new Float64Array(s[0] * n * n);
      for (o = 0; o < s[0]; o++) {
        for (var y = 0; y < n; y++) {
          for (var xx = 0; xx < n; xx++) {
            var sum = b[o];
            for (var ch = 0; ch < c; ch++) {
              for (var r = 0; r < k; r++) {
                var wrow = ((o * c + ch) * k + r) * k, arow = (ch * side + y + r) * side + xx;
                for (var q = 0; q < k; q++) sum += w[wrow + q] * a[arow + q];
              }
            }
            conv[(o * n + y) * n + xx] = act(net.activation, sum);
          }
        }
      }
      out = new Float64Array(s[0] * half * half);
      for (o = 0; o < s[0]; o++) {
        for (var py = 0; py < half; py++) {
          for (var px = 0; px < half; px++) {
            var base = (o * n + 2 * py) * n + 2 * px;
            out[(o * half + py) * half + px] = Math.max(conv[base], conv[base + 1],
              conv[base + n], conv[base + n + 1]);
          }
        }
      }
      a = out;
      side = half;
    });
    return a;
  }

  /* ---- the explorer ---------------------------------------------------------------- */

  function Explorer(root, data, spriteUrl) {
    this.root = root;
    this.data = data;
    this.sprite = null; // the digits' pictures: fetched when first wanted (loadSprite)
    this.spriteUrl = spriteUrl;
    this.n = data.n;
    this.maps = {};
    var self = this;
    data.maps.forEach(function (m) {
      var q = uint16s(m.coords), c = new Float64Array(2 * self.n);
      for (var i = 0; i < 2 * self.n; i++) {
        var d = i % 2;
        c[i] = m.lo[d] + (q[i] / m.steps) * (m.hi[d] - m.lo[d]);
      }
      self.maps[m.kind] = { kind: m.kind, dims: m.dims, kept: m.kept, coords: c,
        mean: float32s(m.mean), axes: float32s(m.axes), lo: m.lo, hi: m.hi };
    });
    this.nets = {};
    Object.keys(data.networks).forEach(function (name) {
      var net = data.networks[name];
      self.nets[name] = { activation: net.activation, layers: net.layers.map(function (l) {
        return { kind: l.kind, shape: l.shape, w: float32s(l.weight), b: float32s(l.bias) };
      }) };
    });
    this.kinds = data.maps.map(function (m) { return m.kind; });
    this.kind = this.kinds.indexOf("mnist-2layer") >= 0 ? "mnist-2layer" : this.kinds[0];
    this.net = "mnist-2layer";
    this.chosen = -1;
    this.hovered = -1;
    this.cell = null; // [actual, predicted] whose points stand out
    this.drawn = null; // {x, y} of the reader's digit on the current map
    // A fixed shuffled drawing order, so that no class always lies on top.
    var order = [], seed = 12345;
    for (var j = 0; j < this.n; j++) order.push(j);
    for (var m = this.n - 1; m > 0; m--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      var r = seed % (m + 1), t = order[m];
      order[m] = order[r];
      order[r] = t;
    }
    this.order = order;
    this.screen = new Float32Array(2 * this.n); // CSS px within the map, per point
    this.hoverMs = [];
    this.build();
    this.setMap(this.kind);
  }

  Explorer.prototype.colours = function () {
    var style = getComputedStyle(this.root);
    var out = [];
    for (var d = 0; d < 10; d++) out.push(style.getPropertyValue("--li-class-" + d).trim());
    return out;
  };

  Explorer.prototype.build = function () {
    var self = this;
    // Which map, and whose answers.
    this.mapButtons = {};
    var mapBar = el("div", { class: "li-ex-toolbar li-map-toolbar", role: "group",
      "aria-label": "选择地图" }, [el("span", { text: "地图：" })]);
    this.kinds.forEach(function (kind) {
      var b = el("button", { type: "button", class: "li-map-pick", "aria-pressed": "false",
        "data-map": kind, text: NAMES[kind] || kind });
      b.addEventListener("click", function () { self.setMap(kind); });
      mapBar.appendChild(b);
      self.mapButtons[kind] = b;
    });
    this.netButtons = {};
    var netBar = el("div", { class: "li-ex-toolbar li-map-toolbar", role: "group",
      "aria-label": "答案和混淆矩阵来自哪个网络" }, [el("span", { text: "答案来自：" })]);
    Object.keys(NETS).forEach(function (name) {
      if (!self.data.answers[name]) return;
      var b = el("button", { type: "button", "aria-pressed": "false", "data-net": name,
        text: NETS[name] });
      b.addEventListener("click", function () { self.setNet(name); });
      netBar.appendChild(b);
      self.netButtons[name] = b;
    });

    // The map: points below, pointer marks above, a tooltip for hovering.
    this.base = el("canvas", { class: "li-map-canvas", tabindex: "0", role: "application",
      "aria-roledescription": "散点地图",
      "aria-label": "地图上的 " + this.n.toLocaleString("en-US") + " 个测试数字。方向键：移到那个方向上最近的点；"
        + "Esc：取消选择。选中的点的详情写在“选中的点”一栏。" });
    this.overlay = el("canvas", { class: "li-map-overlay", "aria-hidden": "true" });
    this.tipPic = el("canvas", { width: 28, height: 28 });
    this.tipText = el("div", { class: "li-map-tip-text" });
    this.tip = el("div", { class: "li-map-tip", "aria-hidden": "true" }, [this.tipPic, this.tipText]);
    this.stage = el("div", { class: "li-map-stage" }, [this.base, this.overlay, this.tip]);
    this.caption = el("p", { class: "li-map-caption" });

    // The chosen point, announced.
    this.detailPic = el("canvas", { width: 28, height: 28, "aria-hidden": "true" });
    this.detailText = el("div", { class: "li-map-detail-text" });
    this.detail = el("div", { class: "li-map-detail", "aria-live": "polite" },
      [this.detailPic, this.detailText]);
    var legend = el("div", { class: "li-map-legend", role: "list", "aria-label": "点的颜色" });
    for (var d = 0; d < 10; d++) {
      legend.appendChild(el("span", { role: "listitem", class: "li-map-key" }, [
        el("span", { class: "li-map-swatch", style: "background: var(--li-class-" + d + ")" }),
        document.createTextNode(String(d))]));
    }

    // A confusion matrix of the sampled digits.
    this.matrix = el("div", { class: "li-ex-matrix li-map-matrix", style: "--li-n:10" });
    this.matrixTitle = el("p", { class: "li-map-matrix-title" });
    this.showAll = el("button", { type: "button", class: "li-map-all", text: "显示全部点",
      disabled: "" });
    this.showAll.addEventListener("click", function () { self.setCell(null); });
    this.cellNote = el("p", { class: "li-map-cell-note", "aria-live": "polite" });

    // The reader's digit.
    this.pad = window.LiPad.create({ onChange: function () { self.placeDrawn(); } });
    this.drawnNote = el("p", { class: "li-map-drawn", "aria-live": "polite" });

    // Grid areas (map.css): on a wide screen the map with the reader's digit under it
    // and the chosen point and the matrix beside; on a phone the chosen point and the
    // pad come right under the map, in view with it.
    this.root.appendChild(el("div", { class: "li-map-ui" }, [
      mapBar, netBar,
      el("div", { class: "li-map-body" }, [
        el("div", { class: "li-map-main" }, [this.stage, this.caption, legend]),
        el("div", { class: "li-map-chosen" }, [
          el("p", { class: "li-map-label", text: "选中的点" }), this.detail]),
        el("div", { class: "li-map-draw" }, [this.pad.element, el("div", {}, [
          el("p", { class: "li-map-label", text: "在左边写一个数字：它会用同样的两根轴投到地图上，"
            + "画成一个星号。" }), this.drawnNote])]),
        el("div", { class: "li-map-cells" }, [this.matrixTitle, this.matrix,
          el("div", { class: "li-map-cell-tools" }, [this.showAll, this.cellNote])])
      ])
    ]));
    this.bindPointer();
    this.bindKeys();
    new ResizeObserver(function () { self.resize(); }).observe(this.stage);
    new MutationObserver(function () { self.redraw(); })
      .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  };

  /* ---- geometry --------------------------------------------------------------------- */

  Explorer.prototype.resize = function () {
    var size = this.stage.clientWidth, ratio = window.devicePixelRatio || 1;
    if (!size) return;
    this.size = size;
    [this.base, this.overlay].forEach(function (c) {
      c.width = Math.round(size * ratio);
      c.height = Math.round(size * ratio);
    });
    this.redraw();
  };

  /* Map units -> CSS px, equal scales on both axes (as the figure). */
  Explorer.prototype.view = function () {
    var m = this.maps[this.kind];
    var half = Math.max(m.hi[0] - m.lo[0], m.hi[1] - m.lo[1]) / 2 * (1 + 2 * MARGIN) || 1;
    var cx = (m.lo[0] + m.hi[0]) / 2, cy = (m.lo[1] + m.hi[1]) / 2;
    return { left: cx - half, top: cy + half, scale: this.size / (2 * half) };
  };

  Explorer.prototype.toScreen = function (x, y) {
    var v = this.view();
    return [(x - v.left) * v.scale, (v.top - y) * v.scale];
  };

  Explorer.prototype.members = function () {
    if (!this.cell) return null;
    var a = this.cell[0], p = this.cell[1], pred = this.data.answers[this.net].predicted;
    var out = [];
    for (var j = 0; j < this.n; j++) if (this.data.label[j] === a && pred[j] === p) out.push(j);
    return out;
  };

  /* The point nearest to (x, y) CSS px within `radius`, among those standing out. */
  Explorer.prototype.nearest = function (x, y, radius) {
    var best = -1, bestD = radius * radius, s = this.screen, lit = this.lit;
    for (var j = 0; j < this.n; j++) {
      if (lit && !lit[j]) continue;
      var dx = s[2 * j] - x, dy = s[2 * j + 1] - y, d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = j; }
    }
    return best;
  };

  /* ---- drawing ---------------------------------------------------------------------- */

  Explorer.prototype.redraw = function () {
    if (!this.size) return;
    var m = this.maps[this.kind], ctx = this.base.getContext("2d");
    var ratio = this.base.width / this.size, colours = this.colours();
    for (var j = 0; j < this.n; j++) {
      var p = this.toScreen(m.coords[2 * j], m.coords[2 * j + 1]);
      this.screen[2 * j] = p[0];
      this.screen[2 * j + 1] = p[1];
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, this.size, this.size);
    var lit = this.lit, label = this.data.label, s = this.screen, self = this;
    function dots(alpha, size, pick) {
      ctx.globalAlpha = alpha;
      self.order.forEach(function (k) {
        if (!pick(k)) return;
        ctx.fillStyle = colours[label[k]];
        ctx.fillRect(s[2 * k] - size / 2, s[2 * k + 1] - size / 2, size, size);
      });
    }
    if (lit) {
      dots(0.15, DOT, function (k) { return !lit[k]; });
      ctx.strokeStyle = getComputedStyle(this.root).getPropertyValue("--md-default-fg-color");
      ctx.lineWidth = 1;
      dots(1, DOT + 3, function (k) {
        if (lit[k]) ctx.strokeRect(s[2 * k] - 3.5, s[2 * k + 1] - 3.5, 7, 7);
        return lit[k];
      });
    } else {
      dots(1, DOT, function () { return true; });
    }
    ctx.globalAlpha = 1;
    this.drawMarks();
  };

  /* The hovered and chosen points' rings, and the reader's digit as a star. */
  Explorer.prototype.drawMarks = function () {
    if (!this.size) return;
    var ctx = this.overlay.getContext("2d"), ratio = this.overlay.width / this.size;
    var fg = getComputedStyle(this.root).getPropertyValue("--md-default-fg-color");
    var accent = getComputedStyle(this.root).getPropertyValue("--md-accent-fg-color");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, this.size, this.size);
    var s = this.screen;
    [[this.chosen, fg, 2.5], [this.hovered, accent, 2]].forEach(function (mark) {
      if (mark[0] < 0) return;
      ctx.beginPath();
      ctx.arc(s[2 * mark[0]], s[2 * mark[0] + 1], 7, 0, 2 * Math.PI);
      ctx.strokeStyle = mark[1];
      ctx.lineWidth = mark[2];
      ctx.stroke();
    });
    if (this.drawn) {
      var p = this.toScreen(this.drawn.x, this.drawn.y);
      var x = Math.min(this.size - 10, Math.max(10, p[0]));
      var y = Math.min(this.size - 10, Math.max(10, p[1]));
      ctx.beginPath();
      for (var i = 0; i < 10; i++) {
        var r = i % 2 ? 4.5 : 11, a = -Math.PI / 2 + i * Math.PI / 5;
        ctx[i ? "lineTo" : "moveTo"](x + r * Math.cos(a), y + r * Math.sin(a));
      }
      ctx.closePath();
      ctx.fillStyle = accent;
      ctx.fill();
      ctx.strokeStyle = fg;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
  };

  /* The sprite sheet (a third of a megabyte) is fetched when the reader first comes
   * near the map or the keyboard enters it, not with the page: a phone's first load
   * stays light. Whatever is shown when it arrives is drawn again. */
  Explorer.prototype.loadSprite = function () {
    if (this.spriteLoading) return;
    var self = this, img = new Image();
    this.spriteLoading = true;
    img.src = this.spriteUrl;
    img.decode().then(function () {
      self.sprite = img;
      self.root.setAttribute("data-sprite", "ready");
      if (self.hovered >= 0) self.tile(self.tipPic, self.hovered);
      if (self.chosen >= 0) self.tile(self.detailPic, self.chosen);
    }).catch(function () {
      self.spriteLoading = false; // try again on the next approach
    });
  };

  Explorer.prototype.tile = function (canvas, j) {
    if (!this.sprite) { this.loadSprite(); return; }
    var s = this.data.sprite, t = s.tile;
    canvas.getContext("2d").drawImage(this.sprite, (j % s.columns) * t,
      Math.floor(j / s.columns) * t, t, t, 0, 0, t, t);
  };

  Explorer.prototype.answerText = function (j, name) {
    var a = this.data.answers[name], p = a.predicted[j];
    return NETS[name] + "认成 " + p + "（把握 " + pct(a.confidence[j]) + "）"
      + (p === this.data.label[j] ? "，认对了" : "，认错了");
  };

  /* ---- hovering, choosing ----------------------------------------------------------- */

  Explorer.prototype.hover = function (j, x, y) {
    var t0 = performance.now();
    if (j !== this.hovered) {
      this.hovered = j;
      this.drawMarks();
      if (j < 0) {
        this.tip.style.display = "none";
      } else {
        this.tile(this.tipPic, j);
        var self = this;
        this.tipText.textContent = "";
        [["真实数字 " + this.data.label[j]]].concat(Object.keys(NETS).map(function (name) {
          var a = self.data.answers[name];
          return [NETS[name] + "：" + a.predicted[j] + "（" + pct(a.confidence[j]) + "）"];
        })).forEach(function (line) { self.tipText.appendChild(el("div", { text: line[0] })); });
        var left = x + 14 + 130 > this.size ? x - 14 - 130 : x + 14;
        this.tip.style.left = Math.max(0, left) + "px";
        this.tip.style.top = Math.max(0, Math.min(this.size - 110, y + 14)) + "px";
        this.tip.style.display = "block";
      }
      this.root.setAttribute("data-hovered", j < 0 ? "" : String(j));
    }
    this.hoverMs.push(performance.now() - t0);
    if (this.hoverMs.length > 1000) this.hoverMs.shift();
  };

  Explorer.prototype.choose = function (j) {
    this.chosen = j;
    this.root.setAttribute("data-chosen", j < 0 ? "" : String(j));
    this.drawMarks();
    var ctx = this.detailPic.getContext("2d");
    ctx.clearRect(0, 0, 28, 28);
    if (j < 0) {
      this.detailText.textContent = "把鼠标移到点上看它是哪张图；点一下（或者用方向键）选中它。";
      return;
    }
    this.tile(this.detailPic, j);
    var label = this.data.label, self = this;
    var near = this.neighbours(this.maps[this.kind].coords[2 * j],
      this.maps[this.kind].coords[2 * j + 1], j);
    this.detailText.textContent = "";
    [
      "测试图 #" + this.data.index[j] + "：真实数字 " + label[j] + "。",
      this.answerText(j, "mnist-2layer") + "；" + this.answerText(j, "mnist-conv") + "。",
      "在这张地图上，离它最近的 " + near.length + " 个点是："
        + near.map(function (k) { return label[k]; }).join("、") + "。"
    ].forEach(function (line) { self.detailText.appendChild(el("p", { text: line })); });
  };

  /* The data's k nearest points to (x, y) on the current map (but `skip`). */
  Explorer.prototype.neighbours = function (x, y, skip) {
    var c = this.maps[this.kind].coords, best = [];
    for (var j = 0; j < this.n; j++) {
      if (j === skip) continue;
      var dx = c[2 * j] - x, dy = c[2 * j + 1] - y;
      best.push([dx * dx + dy * dy, j]);
    }
    best.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    return best.slice(0, this.data.k).map(function (b) { return b[1]; });
  };

  Explorer.prototype.bindPointer = function () {
    var self = this, canvas = this.base;
    ["pointerenter", "pointerdown", "focus"].forEach(function (type) {
      canvas.addEventListener(type, function () { self.loadSprite(); });
    });
    function local(e) {
      var r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    }
    canvas.addEventListener("pointermove", function (e) {
      if (e.pointerType === "touch") return;
      var p = local(e);
      self.hover(self.nearest(p[0], p[1], HOVER_PX), p[0], p[1]);
    });
    canvas.addEventListener("pointerleave", function () { self.hover(-1, 0, 0); });
    canvas.addEventListener("click", function (e) {
      var p = local(e);
      var j = self.nearest(p[0], p[1], e.pointerType === "touch" ? TAP_PX : HOVER_PX);
      if (j >= 0) self.choose(j);
    });
  };

  Explorer.prototype.bindKeys = function () {
    var self = this;
    this.base.addEventListener("keydown", function (e) {
      var dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (e.key === "Escape") {
        self.choose(-1);
      } else if (dir) {
        self.choose(self.step(dir));
      } else {
        return;
      }
      e.preventDefault();
    });
  };

  /* The next point in a direction from the chosen one (or the one nearest the middle):
   * the nearest whose offset points that way, sideways distance counting double. */
  Explorer.prototype.step = function (dir) {
    var s = this.screen, lit = this.lit, from = this.chosen, best = -1, bestD = Infinity;
    if (from < 0 || (lit && !lit[from])) {
      return this.nearest(this.size / 2, this.size / 2, Infinity);
    }
    for (var j = 0; j < this.n; j++) {
      if (j === from || (lit && !lit[j])) continue;
      var dx = s[2 * j] - s[2 * from], dy = s[2 * j + 1] - s[2 * from + 1];
      var along = dx * dir[0] + dy * dir[1], across = Math.abs(dx * dir[1] - dy * dir[0]);
      if (along <= 0) continue;
      var d = along + 2 * across;
      if (d < bestD) { bestD = d; best = j; }
    }
    return best < 0 ? from : best;
  };

  /* ---- maps, networks, cells -------------------------------------------------------- */

  Explorer.prototype.setMap = function (kind) {
    this.kind = kind;
    var self = this;
    Object.keys(this.mapButtons).forEach(function (k) {
      self.mapButtons[k].setAttribute("aria-pressed", String(k === kind));
    });
    this.root.setAttribute("data-map", kind);
    var m = this.maps[kind];
    this.caption.textContent = NAMES[kind] + "：每张图 " + m.dims + " 个数，两根轴留住了全部变化的 "
      + Math.round(100 * m.kept) + "%。";
    // A network's map shows that network's answers, unless the reader chose otherwise.
    if (this.nets[kind] && this.data.answers[kind]) this.setNet(kind);
    else this.setNet(this.net);
    if (!this.size) this.resize();
    if (this.hovered >= 0) this.hover(-1, 0, 0); // its tooltip belongs to the old map
    this.redraw();
    this.placeDrawn();
    if (this.chosen >= 0) this.choose(this.chosen);
  };

  Explorer.prototype.setNet = function (name) {
    this.net = name;
    var self = this;
    Object.keys(this.netButtons).forEach(function (k) {
      self.netButtons[k].setAttribute("aria-pressed", String(k === name));
    });
    this.root.setAttribute("data-net", name);
    this.buildMatrix();
    this.setCell(this.cell);
  };

  Explorer.prototype.buildMatrix = function () {
    var self = this, pred = this.data.answers[this.net].predicted, label = this.data.label;
    var counts = [];
    for (var a = 0; a < 10; a++) counts.push([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (var j = 0; j < this.n; j++) counts[label[j]][pred[j]] += 1;
    this.counts = counts;
    var worst = 1e-9, rows = counts.map(function (r) {
      return Math.max(1, r.reduce(function (s, v) { return s + v; }, 0));
    });
    counts.forEach(function (r, a) {
      r.forEach(function (c, p) { if (a !== p) worst = Math.max(worst, c / rows[a]); });
    });
    this.matrixTitle.textContent = NETS[this.net] + "在这 " + this.n.toLocaleString("en-US")
      + " 张图上的混淆矩阵：行是真实数字，列是认成的数字。选一个格子，地图上只突出它的点。";
    var m = this.matrix, focusable = this.cell ? this.cell[0] * 10 + this.cell[1] : 0;
    m.textContent = "";
    m.appendChild(el("span", { class: "li-ex-corner", "aria-hidden": "true", text: "真＼认" }));
    for (var h = 0; h < 10; h++) {
      m.appendChild(el("span", { class: "li-ex-head", "aria-hidden": "true", text: String(h) }));
    }
    this.cells = [];
    for (a = 0; a < 10; a++) {
      m.appendChild(el("span", { class: "li-ex-head li-ex-rowhead", "aria-hidden": "true",
        text: String(a) }));
      for (var p = 0; p < 10; p++) {
        var k = a * 10 + p, count = counts[a][p], share = count / rows[a];
        var cell = el("button", {
          type: "button", class: "li-ex-cell" + (a === p ? " li-ex-diag" : "")
            + (count ? "" : " li-ex-empty"),
          "aria-label": "真实 " + a + "，认成 " + p + "：" + count + " 张",
          "aria-pressed": "false", tabindex: k === focusable ? "0" : "-1",
          "data-actual": String(a), "data-predicted": String(p), text: String(count)
        });
        var mix = a === p ? 25 + 65 * share : (count ? 75 * share / worst : 0);
        cell.style.setProperty("--li-mix", mix.toFixed(1) + "%");
        this.bindCell(cell, k);
        m.appendChild(cell);
        this.cells.push(cell);
      }
    }
  };

  Explorer.prototype.bindCell = function (cell, k) {
    var self = this;
    cell.addEventListener("click", function () {
      var a = Math.floor(k / 10), p = k % 10;
      var same = self.cell && self.cell[0] === a && self.cell[1] === p;
      self.setCell(same ? null : [a, p]);
    });
    cell.addEventListener("keydown", function (e) {
      var a = Math.floor(k / 10), p = k % 10;
      var to = { ArrowUp: [a - 1, p], ArrowDown: [a + 1, p], ArrowLeft: [a, p - 1],
        ArrowRight: [a, p + 1], Home: [a, 0], End: [a, 9] }[e.key];
      if (!to) return;
      e.preventDefault();
      var r = Math.min(9, Math.max(0, to[0])), c = Math.min(9, Math.max(0, to[1]));
      self.cells[k].setAttribute("tabindex", "-1");
      self.cells[r * 10 + c].setAttribute("tabindex", "0");
      self.cells[r * 10 + c].focus();
    });
  };

  Explorer.prototype.setCell = function (cell) {
    this.cell = cell;
    var members = this.members();
    this.lit = null;
    if (members) {
      this.lit = new Uint8Array(this.n);
      for (var i = 0; i < members.length; i++) this.lit[members[i]] = 1;
    }
    var on = cell ? cell[0] * 10 + cell[1] : -1;
    (this.cells || []).forEach(function (c, k) {
      c.setAttribute("aria-pressed", String(k === on));
      c.classList.toggle("li-map-on", k === on);
    });
    this.root.setAttribute("data-cell", cell ? cell.join(",") : "");
    if (cell) this.showAll.removeAttribute("disabled");
    else this.showAll.setAttribute("disabled", "");
    this.cellNote.textContent = !cell ? "" : "突出显示：真实 " + cell[0] + "、" + NETS[this.net]
      + "认成 " + cell[1] + " 的 " + members.length + " 张图"
      + (members.length ? "。方向键在这些点之间移动。" : "（这一格是空的）。");
    if (this.lit && this.hovered >= 0 && !this.lit[this.hovered]) this.hover(-1, 0, 0);
    this.redraw();
  };

  /* ---- the reader's digit ----------------------------------------------------------- */

  Explorer.prototype.placeDrawn = function () {
    if (!this.pad) return;
    var note = this.drawnNote;
    if (this.pad.blank()) {
      this.drawn = null;
      note.textContent = "手写板还是空的。";
      this.root.setAttribute("data-drawn", "");
    } else {
      var m = this.maps[this.kind], x = this.pad.input();
      var f = this.nets[this.kind] ? forward(this.nets[this.kind], x) : x;
      if (f.length !== m.mean.length) {
        // Only a map made by a fixed linear projection of a fixed network can place a
        // new point; this one cannot (the data do not say how).
        this.drawn = null;
        note.textContent = "这张地图没法放进新的数字。";
      } else {
        var xy = [0, 0], d = m.mean.length;
        for (var a = 0; a < 2; a++) {
          for (var i = 0; i < d; i++) xy[a] += (f[i] - m.mean[i]) * m.axes[a * d + i];
        }
        this.drawn = { x: xy[0], y: xy[1] };
        var p = this.toScreen(xy[0], xy[1]);
        var inside = p[0] >= 0 && p[1] >= 0 && p[0] <= this.size && p[1] <= this.size;
        var label = this.data.label, near = this.neighbours(xy[0], xy[1], -1), votes = {};
        near.forEach(function (k) { votes[label[k]] = (votes[label[k]] || 0) + 1; });
        var parts = Object.keys(votes).sort(function (u, v) { return votes[v] - votes[u] || u - v; })
          .map(function (digit) { return votes[digit] + " 个是 " + digit; });
        note.textContent = (inside ? "你写的数字落在星号处。" : "你写的数字落在地图范围之外，星号画在最近的边上。")
          + "离它最近的 " + near.length + " 个点里，" + parts.join("，") + "。";
        this.root.setAttribute("data-drawn", xy[0] + "," + xy[1]);
      }
    }
    this.drawMarks();
  };

  /* ---- start-up --------------------------------------------------------------------- */

  function fetchJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function start(root) {
    if (root.getAttribute("data-state")) return;
    root.setAttribute("data-state", "loading");
    var url = new URL(root.getAttribute("data-src"), document.baseURI);
    fetchJSON(url).then(function (data) {
      var ex = new Explorer(root, data, new URL(data.sprite.file, url).href);
      root.querySelectorAll(".li-fallback").forEach(function (f) { f.hidden = true; });
      ex.resize();
      ex.choose(-1);
      root.setAttribute("data-state", "ready");
      window.__map = {
        explorer: ex,
        hoverMs: ex.hoverMs,
        pad: ex.pad,
        /* Where point j is drawn, in page coordinates (for the tests' pointer). */
        point: function (j) {
          var r = ex.base.getBoundingClientRect();
          return [r.left + ex.screen[2 * j], r.top + ex.screen[2 * j + 1]];
        }
      };
    }).catch(function (err) {
      root.setAttribute("data-state", "failed");
      root.insertBefore(el("p", { class: "li-load-error",
        text: "互动版本没能加载（" + err.message + "），下面是静态图。" }), root.firstChild);
    });
  }

  function init() {
    if (!window.LiPad) return;
    var roots = document.querySelectorAll(".li-map");
    if (!("IntersectionObserver" in window)) { roots.forEach(start); return; }
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { io.unobserve(e.target); start(e.target); }
      });
    }, { rootMargin: "150px 0px" });
    roots.forEach(function (r) { io.observe(r); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
