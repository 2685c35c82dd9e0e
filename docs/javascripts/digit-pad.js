/* A drawing pad for one digit: mouse, finger, pen and keyboard, as on the
 * draw-a-digit page (draw-digit.js draws the same way: the same pen, the same keys
 * and messages, the same CSS classes), as a part other pages can reuse.
 *
 *   var pad = LiPad.create({ onChange: function () { ... pad.input() ... } });
 *   container.appendChild(pad.element);
 *
 * pad.input() is the 28x28 network input (digit-core.js's mnistLike of the ink);
 * pad.blank() says whether anything is drawn. onChange runs at most once a frame.
 * Needs li-dom.js and digit-core.js.
 */
(function () {
  "use strict";

  var SIZE = 280; // canvas pixels, whatever the pad's size on screen
  var PEN = 22; // about MNIST's stroke width once the digit is scaled to 20 px
  var KEY_STEP = 10, KEY_STEP_FINE = 3;
  var el = window.LiDom.el;
  var D = window.LiDigits;

  function create(options) {
    var onChange = options.onChange || function () {};
    var canvas = el("canvas", {
      width: SIZE, height: SIZE, class: "li-pad-canvas", tabindex: "0", role: "application",
      "aria-roledescription": "手写板",
      "aria-label": options.label || ("手写板：用鼠标、手指或触控笔写一个数字。键盘：方向键移动笔尖，"
        + "空格键落笔或抬笔，Esc 抬笔，Delete 清除。")
    });
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    var ring = el("div", { class: "li-pad-cursor", "aria-hidden": "true" });
    var status = el("p", { class: "li-pad-status", "aria-live": "polite" });
    var clearButton = el("button", { type: "button", class: "md-button md-button--primary li-clear",
      text: "清除" });
    var cursor = { x: SIZE / 2, y: SIZE / 2, down: false };
    var strokes = {}; // pointerId -> last point
    var pending = false;
    var x = new Float64Array(D.FRAME * D.FRAME);
    var empty = true;

    function read() {
      var data = ctx.getImageData(0, 0, SIZE, SIZE).data;
      x = D.mnistLike(D.inkFromRGBA(data, SIZE, SIZE), SIZE, SIZE);
      empty = x.every(function (v) { return v === 0; });
    }

    function changed() {
      pending = false;
      read();
      onChange();
    }

    function schedule() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(changed);
    }

    function point(e) {
      var r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * SIZE / r.width, y: (e.clientY - r.top) * SIZE / r.height };
    }

    function dot(p) {
      ctx.fillStyle = "#000";
      ctx.beginPath();
      ctx.arc(p.x, p.y, PEN / 2, 0, 2 * Math.PI);
      ctx.fill();
    }

    function line(a, b) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = PEN;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    }

    function placeRing() {
      ring.style.left = (100 * cursor.x / SIZE) + "%";
      ring.style.top = (100 * cursor.y / SIZE) + "%";
      ring.classList.toggle("li-pen-down", cursor.down);
    }

    function clear() {
      ctx.clearRect(0, 0, SIZE, SIZE);
      strokes = {};
      cursor.down = false;
      status.textContent = "已清除。";
      placeRing();
      changed();
    }

    canvas.addEventListener("pointerdown", function (e) {
      if (e.pointerType === "mouse" && e.button !== 0) return;
      e.preventDefault();
      canvas.setPointerCapture(e.pointerId);
      var p = point(e);
      strokes[e.pointerId] = p;
      dot(p);
      schedule();
    });
    canvas.addEventListener("pointermove", function (e) {
      var last = strokes[e.pointerId];
      if (!last) return;
      // Every sample of a fast stroke, not one per frame.
      var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      if (!events.length) events = [e];
      events.forEach(function (ev) {
        var p = point(ev);
        line(last, p);
        last = p;
      });
      strokes[e.pointerId] = last;
      schedule();
    });
    function end(e) { delete strokes[e.pointerId]; }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);

    canvas.addEventListener("keydown", function (e) {
      var step = e.shiftKey ? KEY_STEP_FINE : KEY_STEP;
      var move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step],
        ArrowDown: [0, step] }[e.key];
      if (move) {
        var from = { x: cursor.x, y: cursor.y };
        cursor.x = Math.min(SIZE - 1, Math.max(0, cursor.x + move[0]));
        cursor.y = Math.min(SIZE - 1, Math.max(0, cursor.y + move[1]));
        if (cursor.down) { line(from, cursor); schedule(); }
      } else if (e.key === " " || e.key === "Enter") {
        cursor.down = !cursor.down;
        if (cursor.down) { dot(cursor); schedule(); }
        status.textContent = cursor.down ? "笔已落下：移动方向键来写。" : "笔已抬起。";
      } else if (e.key === "Escape") {
        cursor.down = false;
        status.textContent = "笔已抬起。";
      } else if (e.key === "Delete" || e.key === "Backspace") {
        clear();
      } else {
        return;
      }
      e.preventDefault();
      placeRing();
    });
    canvas.addEventListener("focus", placeRing);
    clearButton.addEventListener("click", function () { clear(); canvas.focus(); });

    var element = el("div", { class: "li-digit-pad" }, [
      el("div", { class: "li-pad" }, [canvas, ring]),
      el("div", { class: "li-pad-tools" }, [clearButton, status])
    ]);

    return {
      element: element,
      canvas: canvas,
      input: function () { return x; },
      blank: function () { return empty; },
      clear: clear,
      /* A 28x28 digit (0-255, row-major) blown up to fill the pad, ink as alpha. */
      paintDigit: function (pixels) {
        var f = SIZE / D.FRAME;
        var img = ctx.createImageData(SIZE, SIZE);
        for (var yy = 0; yy < SIZE; yy++) {
          for (var xx = 0; xx < SIZE; xx++) {
            img.data[4 * (yy * SIZE + xx) + 3] =
              pixels[Math.floor(yy / f) * D.FRAME + Math.floor(xx / f)];
          }
        }
        ctx.putImageData(img, 0, 0);
        strokes = {};
        changed();
      }
    };
  }

  window.LiPad = { create: create, SIZE: SIZE };
})();
