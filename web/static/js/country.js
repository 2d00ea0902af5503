// The country page: initiatives published or changed elsewhere appear without a reload.
import { sharedLive } from "./live.js";

const main = document.querySelector("main[data-page=country]");
const list = document.getElementById("initiatives");

function item(initiative) {
  const li = document.createElement("li");
  li.dataset.id = initiative.id;
  const link = document.createElement("a");
  link.href = `/initiatives/${initiative.id}`;
  link.textContent = initiative.title;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = ` ${initiative.theme} ${initiative.status}`;
  li.append(link, meta);
  return li;
}

sharedLive().follow(main.dataset.stream, Number(main.dataset.head), {
  event(event) {
    const initiative = event.data.initiative;
    if (!initiative) return;
    const existing = list.querySelector(`li[data-id="${initiative.id}"]`);
    list.querySelector(".empty")?.remove();
    if (existing) existing.replaceWith(item(initiative));
    else list.prepend(item(initiative));
  },
  reset() { location.reload(); },
});
