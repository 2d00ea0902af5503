// Every page, signed in: the header's unread count follows the user's own stream live; on the
// notifications page new ones also go on top of the list. It shares the tab's one socket.
import { sharedLive } from "./live.js";
import { timeElement } from "./time.js";

const link = document.getElementById("notifications-link");
const badge = document.getElementById("unread-count");
const announcer = document.getElementById("unread-status");
const list = document.querySelector("main[data-page=notifications] #notifications[data-live]");
const labels = list ? JSON.parse(list.dataset.labels || "{}") : {};

function showCount(unread, { announce = false } = {}) {
  const count = Math.max(0, Number(unread) || 0);
  badge.textContent = String(count);
  badge.dataset.unread = String(count);
  // The tab title carries the count too, for a tab in the background.
  document.title = (count ? `(${count}) ` : "") + document.title.replace(/^\(\d+\) /, "");
  if (announce && announcer) {
    announcer.textContent = `${count} unread notification${count === 1 ? "" : "s"}`;
  }
}

function item(notification) {
  const li = document.createElement("li");
  li.className = "notification" + (notification.read ? "" : " unread");
  li.dataset.id = notification.id;
  const anchor = document.createElement("a");
  anchor.href = `/notifications/${notification.id}`;
  if (!notification.read) {
    const unread = document.createElement("span");
    unread.className = "unread-label";
    unread.textContent = "Unread";
    anchor.append(unread, " ");
  }
  const kind = document.createElement("span");
  kind.className = "kind";
  const key = notification.reason ? `${notification.kind}.${notification.reason}` : notification.kind;
  kind.textContent = labels[key] ?? labels[notification.kind] ?? notification.kind;
  const title = document.createElement("strong");
  title.className = "title";
  title.textContent = notification.title;
  anchor.append(kind, " ", title);
  const meta = document.createElement("p");
  meta.className = "meta";
  if (notification.actor) {
    const actor = document.createElement("span");
    actor.className = "actor";
    actor.textContent = notification.actor.display_name;
    meta.append(actor, " · ");
  }
  meta.append(timeElement(notification.created_at));
  li.append(anchor, meta);
  if (notification.excerpt) {
    const excerpt = document.createElement("p");
    excerpt.className = "excerpt";
    excerpt.textContent = notification.excerpt;
    li.append(excerpt);
  }
  return li;
}

async function recount() {
  const response = await fetch("/api/notifications?limit=1", { credentials: "same-origin" });
  if (response.ok) showCount((await response.json()).unread);
}

if (link && badge) {
  sharedLive().follow(link.dataset.stream, Number(link.dataset.head), {
    event(event) {
      if (event.name !== "notification.created") return;
      const { notification, unread } = event.data;
      showCount(unread, { announce: true });
      // A notification listed and replayed both (it landed as the page was made) shows once.
      if (list && !list.querySelector(`li[data-id="${notification.id}"]`)) {
        list.querySelector(".empty")?.remove();
        list.prepend(item(notification));
      }
    },
    // Too far behind to replay: the list is stale, so reload it; elsewhere only the count is.
    reset() {
      if (list) location.reload();
      else return recount();
    },
  });
}
