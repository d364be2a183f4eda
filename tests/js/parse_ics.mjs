// Parse .ics files the way Thunderbird does (Mozilla's ical.js) and print what a client reads.
// Usage: node tests/js/parse_ics.mjs FILE...  → JSON [{calendar: {...}, events: [...]}, ...]
// VTIMEZONEs are registered with ICAL.TimezoneService first; otherwise a TZID silently
// becomes floating time. Each event reports its zone so callers can assert it is not floating.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const ICAL = require("ical.js");

function iso(time) {
  return time ? time.toJSDate().toISOString() : null;
}

const results = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const vcalendar = new ICAL.Component(ICAL.parse(text));
  ICAL.TimezoneService.reset();
  for (const vtimezone of vcalendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(vtimezone);
  }
  const components = vcalendar.getAllSubcomponents("vevent");
  // A recurring entry: its overrides (same UID, RECURRENCE-ID) are related to the master, as
  // Thunderbird does, so the expansion below gives the dates a client shows.
  const masters = new Map();
  for (const component of components) {
    if (!component.hasProperty("recurrence-id")) { masters.set(component.getFirstPropertyValue("uid"), new ICAL.Event(component)); }
  }
  for (const component of components) {
    const master = masters.get(component.getFirstPropertyValue("uid"));
    if (component.hasProperty("recurrence-id") && master) { master.relateException(component); }
  }
  function expand(event) {
    if (!event.isRecurring()) { return []; }
    const starts = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next && starts.length < 600; next = iterator.next()) {
      starts.push(iso(event.getOccurrenceDetails(next).startDate));
    }
    return starts;
  }
  const events = components.map((component) => {
    const event = component.hasProperty("recurrence-id") ? new ICAL.Event(component) : masters.get(component.getFirstPropertyValue("uid")) ?? new ICAL.Event(component);
    return {
      recurrence_id: iso(event.recurrenceId),
      rrule: component.hasProperty("rrule") ? component.getFirstPropertyValue("rrule").toString() : null,
      occurrences: component.hasProperty("recurrence-id") ? [] : expand(event),
      uid: event.uid,
      summary: event.summary,
      start: iso(event.startDate),
      end: iso(event.endDate),
      start_zone: event.startDate ? event.startDate.zone.tzid : null,
      end_zone: event.endDate ? event.endDate.zone.tzid : null,
      status: component.getFirstPropertyValue("status"),
      sequence: event.sequence,
      location: event.location,
      description: event.description,
      categories: component.getAllProperties("categories").flatMap((p) => p.getValues()),
    };
  });
  results.push({
    calendar: {
      method: vcalendar.getFirstPropertyValue("method"),
      name: vcalendar.getFirstPropertyValue("x-wr-calname"),
      refresh: String(vcalendar.getFirstPropertyValue("refresh-interval") ?? ""),
      ttl: String(vcalendar.getFirstPropertyValue("x-published-ttl") ?? ""),
    },
    events,
  });
}
process.stdout.write(JSON.stringify(results));
