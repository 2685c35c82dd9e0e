/* "Draw a digit": a drawing pad, the 28x28 input the network sees, its 10 scores,
 * and each class's template next to input x weight, so the reader sees why a
 * class wins. Progressive enhancement: the page's static figure stays until the
 * weights have loaded; without JavaScript it is all the reader gets.
 *
 * Needs digit-core.js (window.LiDigits). Test hooks: window.__digitInput (784
 * numbers), window.__digitScores, window.__digitPredicted, window.__digitPad,
 * window.__digitWhy (the "why" breakdown of the top two classes, unrounded).
 */
(function () {
  "use strict";

  var SIZE = 280; // pad resolution in canvas pixels, whatever its size on screen
  // About 2 px in the 20 px box for a digit drawn across most of the pad: the
  // stroke width of MNIST's digits.
  var PEN = 22;
  var KEY_STEP = 10, KEY_STEP_FINE = 3; // canvas pixels per arrow key press
  var D = window.LiDigits;

  var el = window.LiDom.el;

  function isDark() {
    return document.body.getAttribute("data-md-color-scheme") === "slate";
  }

  /* Diverging colour for t in [-1, 1]: blue for negative, red for positive, the
   * page's colour at 0 (the static figures' maps, and interactive.css's --li-pos,
   * --li-neg): dark ends on the light page, light ends on the dark one, so strong
   * values stand out in both. */
  function diverging(t) {
    var dark = isDark();
    var neutral = dark ? [30, 33, 41] : [247, 247, 247];
    var end = t >= 0 ? (dark ? [255, 123, 114] : [202, 0, 32])
      : (dark ? [121, 192, 255] : [5, 113, 176]);
    var a = Math.min(1, Math.abs(t));
    return [0, 1, 2].map(function (i) { return Math.round(neutral[i] + (end[i] - neutral[i]) * a); });
  }

  function paint28(canvas, values, colour) {
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(D.FRAME, D.FRAME);
    for (var i = 0; i < values.length; i++) {
      var c = colour(values[i]);
      img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function fmt(z) {
    return (z < 0 ? "−" : "") + Math.abs(z).toFixed(2);
  }

  function Demo(root, model, examples) {
    this.root = root;
    this.model = model;
    this.examples = examples;
    this.wMax = 0;
    for (var c = 0; c < 10; c++) {
      for (var i = 0; i < 784; i++) this.wMax = Math.max(this.wMax, Math.abs(model.weights[c][i]));
    }
    this.cursor = { x: SIZE / 2, y: SIZE / 2, down: false };
    this.strokes = {}; // pointerId -> last point
    this.pending = false;
    this.build();
    this.update();
  }

  Demo.prototype.build = function () {
    var self = this;
    this.pad = el("canvas", {
      // "application": screen readers pass the arrow keys through to the pad.
      width: SIZE, height: SIZE, class: "li-pad-canvas", tabindex: "0", role: "application",
      "aria-roledescription": "手写板",
      "aria-label": "手写板：用鼠标、手指或触控笔写一个数字。键盘：方向键移动笔尖，"
        + "空格键落笔或抬笔，Esc 抬笔，Delete 清除。"
    });
    this.ctx = this.pad.getContext("2d", { willReadFrequently: true });
    this.ring = el("div", { class: "li-pad-cursor", "aria-hidden": "true" });
    var pad = el("div", { class: "li-pad" }, [this.pad, this.ring]);
    var clear = el("button", { type: "button", class: "md-button md-button--primary li-clear",
      text: "清除" });
    clear.addEventListener("click", function () { self.clear(); self.pad.focus(); });
    var exampleButtons = this.examples.label.map(function (label, k) {
      var b = el("button", {
        type: "button", class: "li-example", text: String(label),
        "aria-label": "载入测试集里的一张 " + label + "（第 " + self.examples.index[k] + " 号）"
      });
      b.addEventListener("click", function () { self.paintDigit(self.examples.pixels[k]); });
      return b;
    });
    this.status = el("p", { class: "li-pad-status", "aria-live": "polite" });
    // Grid areas (see interactive.css): pad and scores side by side on a wide
    // screen; on a phone the verdict comes right under the pad, in view while drawing.
    var parts = [
      el("div", { class: "li-draw-clear" }, [clear]),
      el("div", { class: "li-draw-tools" }, [
        el("div", { class: "li-examples", role: "group", "aria-label": "载入示例" },
          [el("span", { text: "或者载入一张测试图：" })].concat(exampleButtons)),
        el("p", { class: "li-pad-help", text: "键盘：Tab 到手写板，方向键移动笔尖（按住 Shift 走小步），"
          + "空格键落笔／抬笔，Delete 清除。" }),
        this.status
      ])
    ];

    this.input = el("canvas", { width: D.FRAME, height: D.FRAME, class: "li-input-canvas",
      role: "img", "aria-label": "网络看到的 28×28 输入" });
    this.verdict = el("p", { class: "li-verdict", "aria-live": "polite" });
    this.bars = [];
    var bars = el("div", { class: "li-bars", role: "list", "aria-label": "10 个输出神经元的得分" });
    for (var c = 0; c < 10; c++) {
      var fill = el("span", { class: "li-bar-fill" });
      var value = el("span", { class: "li-bar-value" });
      var row = el("div", { class: "li-bar", role: "listitem" }, [
        el("span", { class: "li-bar-label", text: String(c) }),
        el("span", { class: "li-bar-track" }, [el("span", { class: "li-bar-zero" }), fill]),
        value
      ]);
      bars.appendChild(row);
      this.bars.push({ row: row, fill: fill, value: value });
    }
    parts.push(
      el("div", { class: "li-readout" }, [
        this.input,
        el("div", {}, [this.verdict,
          el("p", { class: "li-input-note", text: "左图是网络看到的 28×28 输入：笔迹裁剪、缩放、按重心居中之后的样子。" })])
      ]),
      el("div", { class: "li-scores" }, [bars,
        el("p", { class: "li-bars-note", text: "柱子是得分 z = b + Σ w·x；写下数字后，右边的百分比是用 softmax 把得分换算成的概率。" })])
    );

    this.cards = [];
    var grid = el("div", { class: "li-templates" });
    for (var d = 0; d < 10; d++) {
      var tpl = el("canvas", { width: D.FRAME, height: D.FRAME, role: "img",
        "aria-label": "输出神经元 " + d + " 的权重模板" });
      var prod = el("canvas", { width: D.FRAME, height: D.FRAME, role: "img",
        "aria-label": "输入与神经元 " + d + " 的权重逐像素相乘" });
      var sum = el("p", { class: "li-card-sum" });
      var card = el("div", { class: "li-card" }, [
        el("p", { class: "li-card-title", text: "“" + d + "”" }),
        el("div", { class: "li-card-pair" }, [
          el("div", {}, [tpl, el("span", { text: "权重 w" })]),
          el("div", {}, [prod, el("span", { text: "x × w" })])
        ]),
        sum
      ]);
      grid.appendChild(card);
      this.cards.push({ card: card, tpl: tpl, prod: prod, sum: sum });
    }
    var legend = el("p", { class: "li-templates-legend" }, [
      el("span", { class: "li-swatch li-swatch-pos" }), document.createTextNode(" 正：投赞成票　"),
      el("span", { class: "li-swatch li-swatch-neg" }), document.createTextNode(" 负：投反对票。"
        + "右图把输入和权重逐像素相乘，红色越多，这个数字的得分越高。")
    ]);

    var ui = el("div", { class: "li-draw-ui" }, [
      el("div", { class: "li-draw-top" }, [pad].concat(parts)),
      this.buildWhy(),
      // h2: the pad comes before the page's first h2, and headings must not skip a level.
      el("h2", { class: "li-templates-title", text: "每个输出神经元怎么投票" }),
      legend, grid
    ]);
    this.root.appendChild(ui);
    this.bindPointer();
    this.bindKeys();
    this.paintTemplates();
    // Re-colour when the reader switches between the light and dark palettes.
    new MutationObserver(function () { self.paintTemplates(); self.update(); })
      .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  };

  /* ---- drawing -------------------------------------------------------------- */

  Demo.prototype.point = function (e) {
    var r = this.pad.getBoundingClientRect();
    return { x: (e.clientX - r.left) * SIZE / r.width, y: (e.clientY - r.top) * SIZE / r.height };
  };

  Demo.prototype.dot = function (p) {
    this.ctx.fillStyle = "#000";
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, PEN / 2, 0, 2 * Math.PI);
    this.ctx.fill();
  };

  Demo.prototype.line = function (a, b) {
    var ctx = this.ctx;
    ctx.strokeStyle = "#000";
    ctx.lineWidth = PEN;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  };

  Demo.prototype.bindPointer = function () {
    var self = this, pad = this.pad;
    pad.addEventListener("pointerdown", function (e) {
      if (e.pointerType === "mouse" && e.button !== 0) return;
      e.preventDefault();
      pad.setPointerCapture(e.pointerId);
      self.why.live.setAttribute("aria-busy", "true");
      var p = self.point(e);
      self.strokes[e.pointerId] = p;
      self.dot(p);
      self.schedule();
    });
    pad.addEventListener("pointermove", function (e) {
      var last = self.strokes[e.pointerId];
      if (!last) return;
      // Coalesced events: every sample of a fast stroke, not one per frame.
      var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      if (!events.length) events = [e];
      events.forEach(function (ev) {
        var p = self.point(ev);
        self.line(last, p);
        last = p;
      });
      self.strokes[e.pointerId] = last;
      self.schedule();
    });
    function end(e) {
      delete self.strokes[e.pointerId];
      if (!Object.keys(self.strokes).length) self.settle();
    }
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
  };

  Demo.prototype.bindKeys = function () {
    var self = this;
    this.pad.addEventListener("keydown", function (e) {
      var step = e.shiftKey ? KEY_STEP_FINE : KEY_STEP;
      var move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step],
        ArrowDown: [0, step] }[e.key];
      var c = self.cursor;
      if (move) {
        var from = { x: c.x, y: c.y };
        c.x = Math.min(SIZE - 1, Math.max(0, c.x + move[0]));
        c.y = Math.min(SIZE - 1, Math.max(0, c.y + move[1]));
        if (c.down) { self.line(from, c); self.schedule(); }
      } else if (e.key === " " || e.key === "Enter") {
        c.down = !c.down;
        if (c.down) { self.dot(c); self.schedule(); }
        self.status.textContent = c.down ? "笔已落下：移动方向键来写。" : "笔已抬起。";
      } else if (e.key === "Escape") {
        c.down = false;
        self.status.textContent = "笔已抬起。";
      } else if (e.key === "Delete" || e.key === "Backspace") {
        self.clear();
      } else {
        return;
      }
      e.preventDefault();
      self.placeRing();
    });
    this.pad.addEventListener("focus", function () { self.placeRing(); });
  };

  Demo.prototype.placeRing = function () {
    var c = this.cursor;
    this.ring.style.left = (100 * c.x / SIZE) + "%";
    this.ring.style.top = (100 * c.y / SIZE) + "%";
    this.ring.classList.toggle("li-pen-down", c.down);
  };

  Demo.prototype.clear = function () {
    this.ctx.clearRect(0, 0, SIZE, SIZE);
    this.strokes = {};
    this.cursor.down = false;
    this.status.textContent = "已清除。";
    this.placeRing();
    this.update();
  };

  /* A 28x28 digit (0-255, row-major) blown up to fill the pad, ink as alpha. */
  Demo.prototype.paintDigit = function (pixels) {
    var f = SIZE / D.FRAME;
    var img = this.ctx.createImageData(SIZE, SIZE);
    for (var y = 0; y < SIZE; y++) {
      for (var x = 0; x < SIZE; x++) {
        img.data[4 * (y * SIZE + x) + 3] = pixels[Math.floor(y / f) * D.FRAME + Math.floor(x / f)];
      }
    }
    this.ctx.putImageData(img, 0, 0);
    this.strokes = {};
    this.update();
  };

  /* ---- scoring and display --------------------------------------------------- */

  Demo.prototype.schedule = function () {
    var self = this;
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(function () { self.pending = false; self.update(); });
  };

  Demo.prototype.update = function () {
    var data = this.ctx.getImageData(0, 0, SIZE, SIZE).data;
    var x = D.mnistLike(D.inkFromRGBA(data, SIZE, SIZE), SIZE, SIZE);
    var blank = x.every(function (v) { return v === 0; });
    var z = D.scores(this.model.weights, this.model.biases, x);
    var p = D.softmax(z);
    var best = D.argmax(z);
    this.x = x;
    window.__digitInput = Array.from(x);
    window.__digitScores = Array.from(z);
    window.__digitPredicted = blank ? null : best;
    this.root.setAttribute("data-predicted", blank ? "" : String(best));

    paint28(this.input, x, function (v) { var g = Math.round(255 * v); return [g, g, g]; });
    this.verdict.textContent = "";
    if (blank) {
      this.verdict.textContent = "在手写板上写一个 0 到 9 的数字，或者载入一张测试图。";
    } else {
      this.verdict.appendChild(document.createTextNode("网络认为这是 "));
      this.verdict.appendChild(el("strong", { text: String(best) }));
      this.verdict.appendChild(document.createTextNode("（概率 " + (100 * p[best]).toFixed(1) + "%）"));
    }
    var zMax = 1e-9;
    for (var c = 0; c < 10; c++) zMax = Math.max(zMax, Math.abs(z[c]));
    for (var k = 0; k < 10; k++) {
      var b = this.bars[k], share = Math.abs(z[k]) / zMax * 50;
      b.fill.style.width = share + "%";
      b.fill.style.left = (z[k] >= 0 ? 50 : 50 - share) + "%";
      b.fill.classList.toggle("li-neg", z[k] < 0);
      b.row.classList.toggle("li-winner", !blank && k === best);
      b.row.classList.toggle("li-blank", blank);
      b.value.textContent = fmt(z[k]) + (blank ? "" : "　" + (100 * p[k]).toFixed(0) + "%");
      b.row.setAttribute("aria-label", "数字 " + k + "：得分 " + fmt(z[k])
        + (blank ? "" : "，概率 " + (100 * p[k]).toFixed(1) + "%"));
    }
    this.paintProducts(x, z, best, blank);
    this.paintWhy(x, z, p, blank);
  };

  /* ---- "why does it say 3": the top two classes, term by term -------------------- */

  Demo.prototype.buildWhy = function () {
    var why = { maps: [], titles: [], cells: [], ends: [] };
    var maps = el("div", { class: "li-why-maps" });
    for (var k = 0; k < 2; k++) {
      var canvas = el("canvas", { width: D.FRAME, height: D.FRAME, role: "img" });
      var title = el("figcaption", {});
      maps.appendChild(el("figure", { class: "li-why-map" }, [canvas, title]));
      why.maps.push(canvas);
      why.titles.push(title);
    }
    why.ends = [el("span", {}), el("span", { text: "0" }), el("span", {})];
    var scale = el("div", { class: "li-why-scale" }, [
      el("span", { class: "li-why-gradient", "aria-hidden": "true" }),
      el("span", { class: "li-why-ticks" }, why.ends)
    ]);
    var note = el("p", { class: "li-why-note", text: "每一格是这个像素的墨迹 × 它的权重：红色推高"
      + "这一类的得分，蓝色拉低它；两幅图用同一把色标。" });
    var head = el("tr", {}, ["类别", "Σ(w⊙x)", "偏置 b", "得分 z", "概率"].map(function (t) {
      return el("th", { scope: "col", text: t });
    }));
    var body = el("tbody", {});
    for (var r = 0; r < 2; r++) {
      var cells = [el("th", { scope: "row" })];
      for (var c = 0; c < 4; c++) cells.push(el("td", {}));
      body.appendChild(el("tr", { "data-rank": String(r + 1) }, cells));
      why.cells.push(cells);
    }
    var table = el("table", { class: "li-why-table" }, [el("thead", {}, [head]), body]);
    // The same numbers as one sentence, for screen readers: announced once a stroke
    // ends (aria-busy while drawing), not at every frame.
    why.live = el("p", { class: "li-sr-only", "aria-live": "polite", "aria-atomic": "true" });
    why.title = el("h2", { class: "li-why-title", id: "li-why-title" });
    this.why = why;
    return el("section", { class: "li-why", "aria-labelledby": "li-why-title" }, [
      why.title,
      el("div", { class: "li-why-body" }, [
        el("div", { class: "li-why-left" }, [maps, scale, note]),
        el("div", { class: "li-why-right" }, [table,
          el("p", { class: "li-why-note", text: "得分 z = Σ(w⊙x) + b（表里的数四舍五入到两位"
            + "小数）；概率由 softmax 把十个得分换算而来。" }), why.live])
      ])
    ]);
  };

  /* The two best-scoring classes: their w ⊙ x maps on one colour scale, and the
   * terms of their scores. */
  Demo.prototype.paintWhy = function (x, z, p, blank) {
    var why = this.why, w = this.model.weights, b = this.model.biases;
    var order = Array.from(z.keys()).sort(function (i, j) { return z[j] - z[i] || i - j; });
    var top = order.slice(0, 2), lim = 1e-9, sums = [];
    var maps = top.map(function (c) {
      var prod = new Float64Array(784), s = 0;
      for (var i = 0; i < 784; i++) {
        prod[i] = w[c][i] * x[i];
        s += prod[i];
        lim = Math.max(lim, Math.abs(prod[i]));
      }
      sums.push(s);
      return prod;
    });
    window.__digitWhy = blank ? null : {
      classes: top, sums: sums, biases: top.map(function (c) { return b[c]; }),
      scores: top.map(function (c) { return z[c]; }),
      probs: top.map(function (c) { return p[c]; }), lim: lim
    };
    why.title.textContent = blank ? "为什么它会这样说" : "为什么它说是 " + top[0];
    for (var k = 0; k < 2; k++) {
      var c = top[k], rank = k === 0 ? "第一" : "第二";
      paint28(why.maps[k], maps[k], function (v) { return blank ? diverging(0) : diverging(v / lim); });
      why.titles[k].textContent = blank ? (k === 0 ? "第一名" : "第二名")
        : "“" + c + "”的 w⊙x（" + rank + "）";
      why.maps[k].setAttribute("aria-label", blank ? "空白"
        : "输入与神经元 " + c + " 的权重逐像素相乘，红色推高、蓝色拉低它的得分");
      var cells = why.cells[k];
      cells[0].textContent = blank ? "—" : "“" + c + "”";
      cells[1].textContent = blank ? "—" : fmt(sums[k]);
      cells[2].textContent = blank ? "—" : fmt(b[c]);
      cells[3].textContent = blank ? "—" : fmt(z[c]);
      cells[4].textContent = blank ? "—" : (100 * p[c]).toFixed(1) + "%";
    }
    why.ends[0].textContent = blank ? "" : fmt(-lim);
    why.ends[2].textContent = blank ? "" : fmt(lim);
    why.live.textContent = blank ? "" : top.map(function (c, k) {
      return (k === 0 ? "得分最高的是 " : "第二名是 ") + c + "：Σ(w⊙x) " + fmt(sums[k])
        + "，加偏置 " + fmt(b[c]) + "，得分 " + fmt(z[c]) + "，概率 "
        + (100 * p[c]).toFixed(1) + "%";
    }).join("；") + "。";
  };

  /* A stroke has ended: the breakdown may be announced. */
  Demo.prototype.settle = function () {
    var self = this;
    requestAnimationFrame(function () {
      self.update();
      self.why.live.setAttribute("aria-busy", "false");
    });
  };

  Demo.prototype.paintTemplates = function () {
    var lim = this.wMax || 1;
    for (var d = 0; d < 10; d++) {
      paint28(this.cards[d].tpl, this.model.weights[d], function (v) { return diverging(v / lim); });
    }
  };

  /* One colour scale for all ten products, so the classes compare at a glance. */
  Demo.prototype.paintProducts = function (x, z, best, blank) {
    var w = this.model.weights, lim = 1e-9;
    for (var d = 0; d < 10; d++) {
      for (var i = 0; i < 784; i++) lim = Math.max(lim, Math.abs(w[d][i] * x[i]));
    }
    for (var c = 0; c < 10; c++) {
      var prod = new Float64Array(784), s = 0;
      for (var j = 0; j < 784; j++) { prod[j] = w[c][j] * x[j]; s += prod[j]; }
      paint28(this.cards[c].prod, prod, function (v) { return diverging(v / lim); });
      var sum = this.cards[c].sum;
      sum.textContent = "";
      sum.appendChild(el("span", { text: "Σ w·x = " + fmt(s) }));
      sum.appendChild(el("span", { text: "z = Σ + b = " + fmt(z[c]) }));
      sum.title = "偏置 b = " + fmt(this.model.biases[c]);
      this.cards[c].card.classList.toggle("li-winner", !blank && c === best);
    }
  };

  /* ---- start-up --------------------------------------------------------------- */

  function fetchJSON(url) {
    return fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function start(root) {
    if (root.getAttribute("data-state")) return;
    root.setAttribute("data-state", "loading");
    var base = document.baseURI;
    Promise.all([
      fetchJSON(new URL(root.getAttribute("data-weights"), base)),
      fetchJSON(new URL(root.getAttribute("data-examples"), base))
    ]).then(function (loaded) {
      var demo = new Demo(root, loaded[0], loaded[1]);
      root.querySelectorAll(".li-fallback").forEach(function (f) { f.hidden = true; });
      root.setAttribute("data-state", "ready");
      window.__digitPad = {
        paintDigit: function (pixels) { demo.paintDigit(pixels); },
        clear: function () { demo.clear(); },
        canvas: demo.pad
      };
    }).catch(function (err) {
      root.setAttribute("data-state", "failed");
      root.insertBefore(el("p", { class: "li-load-error",
        text: "互动版本没能加载（" + err.message + "），下面是静态图。" }), root.firstChild);
    });
  }

  function init() {
    if (!D) return;
    document.querySelectorAll(".li-draw").forEach(start);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
