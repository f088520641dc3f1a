/* One pass over a page in the browser (tests/web/browser/test_every_page.py): what is wrong
   with its layout, in words. An empty list: nothing sticks out, every table fits, scrolls in
   its own box or is stacked into labelled cards, every link and button of a table's last column
   can be scrolled to and clicked, the header's links are in the window, the funnel is legible. */
() => {
  const problems = [];
  const W = window.innerWidth, H = window.innerHeight;
  const doc = document.documentElement;
  if (doc.scrollWidth > W + 1) {
    const wide = [...document.querySelectorAll('body *')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.right > W + 1 && !el.closest('table');
    }).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.getAttribute('class') ? '.' + el.getAttribute('class') : ''));
    problems.push(`the page is ${doc.scrollWidth}px wide in a ${W}px window (${wide.join(', ')})`);
  }
  for (const el of document.querySelectorAll('header a, header button')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.left < 0 || r.right > W + 1) {
      problems.push(`header link "${el.textContent.trim()}" is outside the window`);
    }
  }
  document.querySelectorAll('main table').forEach((table, n) => {
    const name = table.id || `table ${n + 1}`;
    const box = table.closest('.table-wrap');
    const stacked = getComputedStyle(table).display !== 'table';
    const scrolls = box && ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    const holder = box || table.parentElement;
    const fits = table.getBoundingClientRect().width <= holder.clientWidth + 1;
    if (!fits && !scrolls) {
      problems.push(`${name} is cut: wider than its box, which does not scroll`);
    }
    if ((box || table).getBoundingClientRect().right > W + 1) {
      problems.push(`${name} sticks out of the window`);
    }
    const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
    for (const row of table.querySelectorAll('tbody tr, tfoot tr')) {
      const cells = [...row.children];
      if (cells.length !== heads.length) { continue; }  // a message spanning the row
      if (stacked) {
        cells.forEach((cell, i) => {
          if (heads[i] && cell.getAttribute('data-label') !== heads[i]) {
            problems.push(`${name}: a value under "${heads[i]}" is not labelled on a card`);
          }
        });
      }
      for (const el of cells[cells.length - 1].querySelectorAll('a, button')) {
        el.scrollIntoView({block: 'center', inline: 'center'});
        const r = el.getBoundingClientRect();
        const what = `${name}: "${el.textContent.trim()}" in the last column`;
        if (r.width < 1 || r.height < 1) { problems.push(`${what} is not shown`); continue; }
        if (r.left < 0 || r.top < 0 || r.right > W + 1 || r.bottom > H + 1) {
          problems.push(`${what} cannot be scrolled into the window`); continue;
        }
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!hit || !(el === hit || el.contains(hit))) { problems.push(`${what} is covered`); }
      }
    }
  });
  for (const svg of document.querySelectorAll('svg.funnel')) {
    const bars = [...svg.querySelectorAll('rect')].map(b => b.getBoundingClientRect());
    const scale = svg.getScreenCTM().a;
    for (const label of svg.querySelectorAll('text[data-funnel-label]')) {
      const r = label.getBoundingClientRect();
      const px = parseFloat(getComputedStyle(label).fontSize) * scale;
      if (px < 11) {
        problems.push(`funnel label "${label.textContent}" is drawn at ${px.toFixed(1)}px`);
      }
      const under = (b) => b.width > 0 && r.left < b.right && b.left < r.right &&
        r.top < b.bottom && b.top < r.bottom;
      if (bars.some(under)) {
        problems.push(`funnel label "${label.textContent}" is under a bar`);
      }
    }
  }
  window.scrollTo(0, 0);
  return problems;
}
