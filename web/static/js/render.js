// Building messages in the page as the server renders them (the HTML body is the server's,
// already sanitised; everything else goes in as text).
import { timeElement } from "./time.js";

export function messageElement(message, { pending = false } = {}) {
  const article = document.createElement("article");
  article.className = "message" + (pending ? " pending" : "");
  if (message.id) {
    article.id = `m${message.id}`;
    article.dataset.id = message.id;
  }
  const header = document.createElement("header");
  const author = document.createElement("strong");
  author.className = "author";
  author.textContent = message.author.display_name;
  const handle = document.createElement("span");
  handle.className = "handle";
  handle.textContent = `@${message.author.handle}`;
  header.append(author, " ", handle, " ");
  if (message.author.organization) {
    const org = document.createElement("span");
    org.className = "org";
    org.textContent = message.author.organization;
    header.append(org, " ");
  }
  if (message.author.expert) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "expert";
    header.append(badge, " ");
  }
  if (pending) {
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = "sending…";
    header.append(state);
  } else {
    header.append(timeElement(message.created_at));
    if (message.edited_at) header.append(" (edited)");
  }
  const body = document.createElement("div");
  body.className = "body";
  if (pending) {
    const paragraph = document.createElement("p");
    paragraph.textContent = message.body;
    body.append(paragraph);
  } else {
    body.innerHTML = message.html;
  }
  article.append(header, body);
  return article;
}

export function namesOf(users) {
  return users.map((user) => user.display_name).join(", ");
}
