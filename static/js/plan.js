// The compound plan page (templates/boards/plan.html): the coordinate fields work on their own;
// this adds a grid where a building is moved by tapping it and then a free cell, or by dragging
// it there (pointer events: a finger, a pen or a mouse alike). The fields stay the truth: a move
// writes them, typing in them moves the tile, and saving posts them as before.
(() => {
  const form = document.getElementById("plan-form");
  if (!form) return;
  const columns = Number(form.dataset.columns), rows = Number(form.dataset.rows);
  const places = [...form.querySelectorAll("fieldset[data-item]")];
  if (!places.length) return;

  const board = document.createElement("div");
  board.className = "plan-grid";
  board.setAttribute("role", "grid");
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = form.dataset.hint;
  const cells = new Map();
  for (let row = 1; row <= rows; row++) {
    for (let col = 1; col <= columns; col++) {
      const cell = document.createElement("div");
      cell.className = "plan-cell";
      cell.dataset.col = col;
      cell.dataset.row = row;
      cells.set(`${col},${row}`, cell);
      board.appendChild(cell);
    }
  }
  places[0].before(hint, board);

  let selected = null;
  const field = (place, axis) => place.querySelector(`input[name="${axis}-${place.dataset.item}"]`);
  const tiles = places.map((place) => {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "plan-tile";
    tile.textContent = place.dataset.name;
    tile.setAttribute("aria-pressed", "false");
    tile.place = place;
    return tile;
  });

  function put(tile) {
    const cell = cells.get(`${field(tile.place, "col").value},${field(tile.place, "row").value}`);
    if (cell && !cell.querySelector(".plan-tile")) cell.appendChild(tile);
    else if (!tile.parentNode) board.after(tile);  // off the grid until the fields say where
  }
  function select(tile) {
    if (selected) selected.setAttribute("aria-pressed", "false");
    selected = tile === selected ? null : tile;
    if (selected) selected.setAttribute("aria-pressed", "true");
  }
  function moveTo(cell) {
    if (!selected || !cell || cell.querySelector(".plan-tile")) return;
    field(selected.place, "col").value = cell.dataset.col;
    field(selected.place, "row").value = cell.dataset.row;
    cell.appendChild(selected);
    select(selected);  // done: nothing stays selected
  }
  tiles.forEach(put);

  // A drag: from a tile, let go over a cell (the tiles do not scroll the page: touch-action in CSS).
  let drag = null, suppressClick = false;
  board.addEventListener("pointerdown", (event) => {
    const tile = event.target.closest(".plan-tile");
    if (tile) drag = { tile, x: event.clientX, y: event.clientY };
  });
  document.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const { tile, x, y } = drag;
    drag = null;
    if (Math.abs(event.clientX - x) + Math.abs(event.clientY - y) <= 10) return;  // a tap: the click decides
    suppressClick = true;  // the click that follows this pointerup is the drag's, not a tap
    setTimeout(() => { suppressClick = false; }, 0);
    if (selected !== tile) select(tile);
    const under = document.elementFromPoint(event.clientX, event.clientY);
    moveTo(under && under.closest(".plan-cell"));
  });
  // A tap: on a tile selects it (again: lets it go), on a free cell moves the selected one there.
  board.addEventListener("click", (event) => {
    if (suppressClick) return;
    const tile = event.target.closest(".plan-tile");
    if (tile) select(tile);
    else moveTo(event.target.closest(".plan-cell"));
  });
  form.addEventListener("input", (event) => {
    const place = event.target.closest("fieldset[data-item]");
    if (!place) return;
    const tile = tiles.find((t) => t.place === place);
    tile.remove();
    put(tile);
  });
})();
