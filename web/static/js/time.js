// Show every <time datetime> in the reader's own time zone (the server writes UTC).
const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function localTime(element) {
  const moment = new Date(element.getAttribute("datetime"));
  if (!Number.isNaN(moment.getTime())) {
    element.textContent = format.format(moment);
    element.title = moment.toISOString();
  }
}

export function timeElement(iso) {
  const element = document.createElement("time");
  element.setAttribute("datetime", iso);
  localTime(element);
  return element;
}

document.querySelectorAll("time[datetime]").forEach(localTime);
