// The room page: new threads and activity appear live.
import { sharedLive } from "./live.js";
import { namesOf } from "./render.js";
import { timeElement } from "./time.js";

const main = document.querySelector("main[data-page=room]");
const list = document.getElementById("threads");
const presenceLine = document.querySelector(".presence");

function threadItem(thread) {
  const item = document.createElement("li");
  item.dataset.id = thread.id;
  const link = document.createElement("a");
  link.href = `/threads/${thread.id}`;
  link.textContent = thread.title;
  const meta = document.createElement("span");
  meta.className = "meta";
  const count = thread.message_count;
  meta.append(` ${count} message${count === 1 ? "" : "s"} · `, timeElement(thread.last_activity_at));
  item.append(link, " ", meta);
  return item;
}

sharedLive().follow(main.dataset.stream, Number(main.dataset.head), {
  event(event) {
    if (event.name === "thread.created") {
      list.querySelector(".empty")?.remove();
      list.prepend(threadItem(event.data.thread));
    } else if (event.name === "message.created") {
      const item = list.querySelector(`li[data-id="${event.data.message.thread_id}"]`);
      if (item) {
        const meta = item.querySelector(".meta");
        const count = Number((meta.textContent.match(/(\d+) message/) || [0, 0])[1]) + 1;
        meta.replaceChildren(` ${count} message${count === 1 ? "" : "s"} · `, timeElement(event.at));
        list.prepend(item);
      }
    }
  },
  reset() { location.reload(); },
  presence(users) {
    presenceLine.hidden = users.length === 0;
    presenceLine.textContent = users.length ? `Here now: ${namesOf(users)}` : "";
  },
});
