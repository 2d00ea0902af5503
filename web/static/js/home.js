// The home page: rooms light up when something happens in them.
import { sharedLive } from "./live.js";

const main = document.querySelector("main[data-page=home]");
const streams = (main.dataset.streams || "").split(" ").filter(Boolean);
const heads = (main.dataset.heads || "").split(" ").map(Number);

if (streams.length) {
  const live = sharedLive();
  streams.forEach((stream, index) => {
    let fresh = 0;
    const activity = document.querySelector(`li[data-stream="${stream}"] .activity`);
    live.follow(stream, heads[index], {
      event(event) {
        if (event.name !== "message.created" && event.name !== "thread.created") return;
        fresh += 1;
        activity.textContent = `${fresh} new`;
      },
      reset() {},
    });
  });
}
