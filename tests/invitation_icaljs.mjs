// Read an iCalendar object on stdin with Mozilla's ical.js (Thunderbird's parser) and print what
// a client would see as JSON. VTIMEZONEs are registered first, or a TZID silently turns floating.
import ICAL from "ical.js";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
const calendar = new ICAL.Component(ICAL.parse(text));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    summary: event.summary,
    sequence: event.sequence,
    status: component.getFirstPropertyValue("status"),
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    zone: event.startDate.zone.tzid,
    attendees: event.attendees.map((a) => ({
      value: a.getFirstValue(),
      cn: a.getParameter("cn"),
      partstat: a.getParameter("partstat"),
      rsvp: a.getParameter("rsvp"),
    })),
  };
});
process.stdout.write(JSON.stringify({ method: calendar.getFirstPropertyValue("method"), events }));
