// The pages' only script (the Content-Security-Policy allows no inline script or style): sizes the
// pages compute (a subject's share of the evening bar, a worksheet's type scale and answer space) are
// written as data-* attributes and applied here, and "print" buttons print.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-width-percent]")) {
    el.style.width = `${Number(el.dataset.widthPercent)}%`;
  }
  for (const el of document.querySelectorAll("[data-font-em]")) {
    el.style.fontSize = `${Number(el.dataset.fontEm)}em`;
  }
  for (const el of document.querySelectorAll("[data-height-mm]")) {
    el.style.height = `${Number(el.dataset.heightMm)}mm`;
  }
  for (const el of document.querySelectorAll("[data-print]")) {
    el.addEventListener("click", () => window.print());
  }
});
