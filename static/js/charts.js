// Bar charts drawn as plain SVG: no library, no inline script or style.
// Every bar carries data-category, data-series and data-value, and a <title>
// a screen reader or a hovering pointer can read.

const SVG = "http://www.w3.org/2000/svg";

function node(name, attributes = {}, text = "") {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text) element.textContent = text;
  return element;
}

function clear(svg) {
  for (const child of [...svg.children]) {
    if (child.tagName !== "title") child.remove();
  }
}

/**
 * One stacked bar per category.
 * categories: [{label, values: [number per series]}]; series: [{name, className}].
 */
export function stackedBars(svg, categories, series, { horizontal = false } = {}) {
  clear(svg);
  const totals = categories.map((category) => category.values.reduce((a, b) => a + b, 0));
  const top = Math.max(1, ...totals);
  if (categories.length === 0) {
    svg.setAttribute("viewBox", "0 0 320 40");
    svg.append(node("text", { x: 8, y: 24, class: "empty" }, svg.dataset.empty || "—"));
    return;
  }
  // Room for the longest label at the 12px font the stylesheet gives chart text.
  const longest = Math.max(...categories.map((category) => category.label.length));
  if (horizontal) {
    const labelWidth = Math.max(80, Math.ceil(longest * 6.6) + 12);
    const barSpace = 150;
    const row = 28;
    svg.setAttribute("viewBox", `0 0 ${labelWidth + barSpace + 30} ${categories.length * row + 8}`);
    categories.forEach((category, index) => {
      const y = 4 + index * row;
      svg.append(node("text", { x: labelWidth - 8, y: y + 17, class: "label end" }, category.label));
      let x = labelWidth;
      category.values.forEach((value, which) => {
        const width = (value / top) * barSpace;
        const bar = node("rect", {
          x, y: y + 3, width, height: row - 8,
          class: `bar ${series[which].className}`,
          "data-category": category.label,
          "data-series": series[which].name,
          "data-value": value,
        });
        bar.append(node("title", {}, `${category.label}: ${value} ${series[which].name}`));
        svg.append(bar);
        x += width;
      });
      svg.append(node("text", { x: x + 6, y: y + 17, class: "value" }, String(totals[index])));
    });
    return;
  }
  const column = Math.max(44, Math.ceil(longest * 7) + 10);
  const height = 160;
  const base = height + 20;
  svg.setAttribute("viewBox", `0 0 ${Math.max(320, categories.length * column + 16)} ${base + 28}`);
  svg.append(node("line", { x1: 8, y1: base, x2: categories.length * column + 8, y2: base, class: "axis" }));
  categories.forEach((category, index) => {
    const x = 8 + index * column + 6;
    let y = base;
    category.values.forEach((value, which) => {
      const barHeight = (value / top) * height;
      y -= barHeight;
      const bar = node("rect", {
        x, y, width: column - 12, height: barHeight,
        class: `bar ${series[which].className}`,
        "data-category": category.label,
        "data-series": series[which].name,
        "data-value": value,
      });
      bar.append(node("title", {}, `${category.label}: ${value} ${series[which].name}`));
      svg.append(bar);
    });
    const middle = x + (column - 12) / 2;
    svg.append(node("text", { x: middle, y: y - 4, class: "value middle" }, String(totals[index])));
    svg.append(node("text", { x: middle, y: base + 18, class: "label middle" }, category.label));
  });
}
