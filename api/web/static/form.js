/* inloop web form: range values, star ratings, signature pad. Works without it too. */
(function () {
  "use strict";

  function initRange(input) {
    var output = document.getElementById(input.dataset.output);
    var show = function () { output.value = input.value; };
    input.addEventListener("input", show);
    show();
  }

  function initRating(group) {
    var options = Array.prototype.slice.call(group.querySelectorAll(".option"));
    var paint = function (upTo) {
      options.forEach(function (option, i) { option.classList.toggle("lit", i <= upTo); });
    };
    var checked = function () {
      return options.findIndex(function (o) { return o.querySelector("input").checked; });
    };
    options.forEach(function (option, i) {
      option.addEventListener("pointerenter", function () { paint(i); });
      option.addEventListener("pointerleave", function () { paint(checked()); });
      option.querySelector("input").addEventListener("change", function () { paint(checked()); });
    });
    paint(checked());
  }

  function initSignature(root) {
    var canvas = root.querySelector("canvas");
    var input = root.querySelector("[data-signature-input]");
    var typed = root.querySelector("[data-signature-typed]");
    var ctx = canvas.getContext("2d");
    var last = null;
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.strokeStyle = "#1d1c1d";
    var point = function (event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * canvas.width / box.width,
        y: (event.clientY - box.top) * canvas.height / box.height
      };
    };
    var save = function () { input.value = canvas.toDataURL("image/png"); };
    var clear = function () { ctx.clearRect(0, 0, canvas.width, canvas.height); input.value = ""; };
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      last = point(event);
      if (typed.value) { typed.value = ""; clear(); }
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!last) { return; }
      var next = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(next.x, next.y);
      ctx.stroke();
      last = next;
    });
    var end = function () { if (last) { last = null; save(); } };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    root.querySelector("[data-signature-clear]").addEventListener("click", function () {
      typed.value = "";
      clear();
    });
    typed.addEventListener("input", function () {
      clear();
      if (!typed.value.trim()) { return; }
      ctx.font = "italic 56px cursive";
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(typed.value, 24, canvas.height * 0.65, canvas.width - 48);
      save();
    });
    if (input.value.indexOf("data:image/png;base64,") === 0) {
      var image = new Image();
      image.onload = function () { ctx.drawImage(image, 0, 0, canvas.width, canvas.height); };
      image.src = input.value;
    }
  }

  function each(selector, init) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), init);
  }

  function start() {
    each("input[type=range][data-output]", initRange);
    each(".field-rating", initRating);
    each("[data-signature]", initSignature);
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
