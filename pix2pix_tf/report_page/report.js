"use strict";
// The pages pix2pix writes: a click on a column's header sorts the rows by it
// (a metric's worst first), a click on an image shows its row's images large,
// and a click on a histogram's bar shows only the rows in it.
(() => {
  const table = document.querySelector("table");
  const body = table.tBodies[0];
  const headers = [...table.tHead.rows[0].cells];
  const rows = [...body.rows];
  const note = document.getElementById("filter");
  const viewer = document.getElementById("viewer");

  function value(row, column) {
    const cell = row.cells[column];
    return "value" in cell.dataset ? Number(cell.dataset.value) : cell.textContent;
  }

  function sortBy(column, descending) {
    const order = descending ? -1 : 1;
    const sorted = [...body.rows].sort((a, b) => {
      const x = value(a, column), y = value(b, column);
      return order * (typeof x === "number" ? x - y
                      : x.localeCompare(y, undefined, {numeric: true}));
    });
    body.append(...sorted);
    headers.forEach((th) => th.removeAttribute("aria-sort"));
    headers[column].setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  headers.forEach((th, column) => {
    const button = th.querySelector("button");
    if (!button) return;
    if (th.dataset.worse) button.title = "Sort by it, worst first; click again to reverse";
    button.addEventListener("click", () => {
      // First click: worst first for a metric (data-worse high or low), else
      // ascending; each click after: the other way.
      const sorted = th.getAttribute("aria-sort");
      sortBy(column, sorted ? sorted === "ascending" : th.dataset.worse === "high");
    });
  });

  function element(tag, properties, children = []) {
    const node = Object.assign(document.createElement(tag), properties);
    node.append(...children);
    return node;
  }

  function describe(row) {
    return headers.map((th, i) => [th, row.cells[i]])
      .filter(([, cell]) => !cell.querySelector("img"))
      .map(([th, cell]) => `${th.textContent.trim()} ${cell.textContent.trim()}`).join(" · ");
  }

  function enlarge(row) {
    const figures = [...row.querySelectorAll("td img")].map((image) => {
      const kind = image.closest("td").dataset.label || "";
      const large = element("img", {src: image.src, alt: kind});
      // Shown larger than it is: its pixels as squares, not blurred.
      large.addEventListener("load", () => large.classList.toggle(
        "pixels", large.naturalWidth < large.clientWidth));
      return element("figure", {}, [large, element("figcaption", {textContent: kind})]);
    });
    const close = element("button", {className: "close", textContent: "\u00d7",
                                      title: "Close (Esc)"});
    close.addEventListener("click", () => viewer.close());
    viewer.replaceChildren(close, element("p", {textContent: describe(row)}),
                           element("div", {className: "figures"}, figures));
    viewer.showModal();
  }

  body.addEventListener("click", (event) => {
    const image = event.target.closest("td img");
    if (image) enlarge(image.closest("tr"));
  });
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) viewer.close();  // The backdrop.
  });

  function showOnly(selected, text, bar) {
    rows.forEach((row) => { row.hidden = !selected.includes(row); });
    document.querySelectorAll(".bars button").forEach((b) => b.setAttribute(
      "aria-pressed", String(b === bar)));
    const all = element("button", {type: "button", textContent: "show all"});
    all.addEventListener("click", () => {
      rows.forEach((row) => { row.hidden = false; });
      bar.setAttribute("aria-pressed", "false");
      note.hidden = true;
    });
    note.replaceChildren(text, all);
    note.hidden = false;
    note.scrollIntoView({block: "start"});
  }

  function histogram(name) {
    const column = headers.findIndex((th) => th.dataset.column === name);
    if (column < 0 || !rows.length) return null;
    const values = rows.map((row) => value(row, column));
    const low = Math.min(...values), high = Math.max(...values);
    // As the PNG's: the square root of the count, 5 to 40 bins.
    const count = Math.min(40, Math.max(5, Math.floor(Math.sqrt(values.length))));
    const width = (high - low) / count || 1 / count;
    const bins = Array.from({length: count}, () => []);
    rows.forEach((row, i) => {
      bins[Math.min(count - 1, Math.floor((values[i] - low) / width))].push(row);
    });
    const tallest = Math.max(...bins.map((bin) => bin.length));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const bars = bins.map((bin, i) => {
      const range = `${name} ${(low + i * width).toFixed(4)} to ${(low + (i + 1) * width).toFixed(4)}`;
      const text = `${bin.length} image${bin.length === 1 ? "" : "s"} with ${range}`;
      const bar = element("button", {type: "button", title: text, disabled: !bin.length});
      bar.style.height = `${(100 * bin.length) / tallest}%`;
      bar.setAttribute("aria-label", text);
      bar.addEventListener("click", () => showOnly(bin, `${text} (of ${rows.length}).`, bar));
      return bar;
    });
    const marker = element("span", {className: "mean"});
    marker.style.left = `${(100 * (mean - low)) / (count * width)}%`;
    return element("figure", {className: "histogram"}, [
      element("figcaption", {textContent: `per-image ${name}: mean ${mean.toFixed(4)} (dashed); `
                                          + "a bar shows its images"}),
      element("div", {className: "bars"}, [...bars, marker]),
      element("div", {className: "axis"}, [element("span", {textContent: low.toFixed(4)}),
                                           element("span", {textContent: high.toFixed(4)})])]);
  }

  document.querySelectorAll(".histograms[data-metrics]").forEach((box) => {
    const charts = box.dataset.metrics.split(" ").map(histogram).filter(Boolean);
    if (!charts.length) return;
    box.querySelector("img.plot")?.setAttribute("hidden", "");  // Kept for pages without scripts.
    box.append(...charts);
  });
  document.body.dataset.ready = "true";
})();
