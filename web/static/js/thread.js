// The thread page: new messages live, typing and presence, and a composer that shows a message
// at once as pending and reconciles it with the server's ack.
import { sharedLive } from "./live.js";
import { messageElement, namesOf } from "./render.js";

const main = document.querySelector("main[data-page=thread]");
const threadId = Number(main.dataset.thread);
const stream = main.dataset.stream;
const list = document.getElementById("messages");
const typingLine = document.querySelector(".typing");
const presenceLine = document.querySelector(".presence");
const live = sharedLive();
const pending = new Map(); // client_id -> {element, body}
let typingTimer = null;

function show(message) {
  if (message.thread_id !== threadId) return;
  const existing = document.getElementById(`m${message.id}`);
  const element = messageElement(message);
  if (existing) existing.replaceWith(element);
  else list.append(element);
}

// The pinned answer goes first, labelled, whoever pinned it and wherever.
function pin(message) {
  let section = document.getElementById("answer-section");
  if (!section) {
    section = document.createElement("section");
    section.id = "answer-section";
    section.className = "answer";
    section.setAttribute("aria-labelledby", "answer");
    list.before(section);
  }
  const heading = document.createElement("h2");
  heading.id = "answer";
  heading.textContent = message.author.expert ? "Answer by an expert" : "Answer";
  const element = messageElement(message);
  element.id = `pinned-${message.id}`;
  element.classList.add("pinned");
  section.replaceChildren(heading, element);
}

async function reload() {
  const response = await fetch(`/api/threads/${threadId}?limit=500`, { credentials: "same-origin" });
  if (!response.ok) return undefined;
  const snapshot = await response.json();
  list.replaceChildren(...snapshot.messages.map((message) => messageElement(message)));
  for (const { element } of pending.values()) list.append(element);
  return snapshot.head;
}

live.follow(stream, Number(main.dataset.head), {
  event(event) {
    if (event.name === "thread.answer_unpinned" && event.data.thread.id === threadId) {
      document.getElementById("answer-section")?.remove();
      return;
    }
    const message = event.data.message;
    if (!message) return;
    if (["message.created", "message.edited", "message.hidden", "message.restored"]
      .includes(event.name)) show(message);
    if (event.name === "thread.answer_pinned" && event.data.thread.id === threadId) pin(message);
  },
  reset: reload,
  presence(users) {
    presenceLine.hidden = users.length === 0;
    presenceLine.textContent = users.length ? `Here now: ${namesOf(users)}` : "";
  },
  typing(frame) {
    if (frame.thread !== threadId) return;
    typingLine.textContent = `${frame.user.display_name} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingLine.textContent = ""; }, 4000);
  },
});

live.onReply((frame) => {
  const item = pending.get(frame.client_id);
  if (!item) return;
  if (frame.type === "ack") {
    pending.delete(frame.client_id);
    const existing = document.getElementById(`m${frame.message.id}`);
    if (existing) item.element.remove();
    else item.element.replaceWith(messageElement(frame.message));
  } else {
    item.element.classList.add("failed");
    item.element.querySelector(".state").textContent = frame.message;
  }
});

// Anything still pending when the socket comes back is sent again: the client_id makes it safe.
live.onOpen(() => {
  for (const [clientId, item] of pending) {
    live.send({ op: "post", thread: threadId, body: item.body, client_id: clientId });
  }
});

const composer = document.getElementById("composer");
if (composer) {
  const textarea = composer.querySelector("textarea");
  const previewToggle = document.getElementById("preview-toggle");
  const preview = document.getElementById("preview");
  let lastTyping = 0;

  textarea.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping > 3000) {
      lastTyping = now;
      live.send({ op: "typing", thread: threadId });
    }
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
  });

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = textarea.value.trim();
    if (!body) return;
    const clientId = crypto.randomUUID();
    const me = { display_name: "You", handle: "me", organization: "" };
    const element = messageElement({ body, author: me }, { pending: true });
    list.append(element);
    pending.set(clientId, { element, body });
    textarea.value = "";
    preview.hidden = true;
    if (!live.send({ op: "post", thread: threadId, body, client_id: clientId })) {
      // No socket right now: post over HTTP (the same client_id keeps it to one message).
      const response = await fetch(`/api/threads/${threadId}/messages`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ body, client_id: clientId }),
      }).catch(() => null);
      if (response?.ok) {
        const { message } = await response.json();
        pending.delete(clientId);
        if (document.getElementById(`m${message.id}`)) element.remove();
        else element.replaceWith(messageElement(message));
      }
    }
  });

  previewToggle.hidden = false;
  previewToggle.addEventListener("click", async () => {
    if (!preview.hidden) { preview.hidden = true; return; }
    const response = await fetch("/api/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ body: textarea.value }),
    });
    if (response.ok) {
      preview.innerHTML = (await response.json()).html;
      preview.hidden = false;
    }
  });
}
