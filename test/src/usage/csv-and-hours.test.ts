import { describe, expect, it } from "vitest";
import { hourOf, readingDelta } from "../../../src/usage/accounting.js";
import { toCsv } from "../../../src/usage/csv.js";

describe("hourly buckets and CSV", () => {
  it.each([
    ["a time inside an hour falls to its start", "2026-11-03T10:59:59.999Z", "2026-11-03T10:00:00.000Z"],
    ["the start of an hour is its own hour", "2026-11-03T11:00:00.000Z", "2026-11-03T11:00:00.000Z"],
    ["midnight of a new month", "2026-12-01T00:30:00.000Z", "2026-12-01T00:00:00.000Z"],
  ])("hourOf: %s", (_name, at, hour) => {
    expect(hourOf(new Date(at)).toISOString()).toBe(hour);
  });

  it.each([
    ["a first reading counts the whole counter", undefined, { rx: 70, tx: 80 }, { rx: 70, tx: 80 }],
    ["growth counts the difference", { lastRx: 50, lastTx: 60 }, { rx: 70, tx: 80 }, { rx: 20, tx: 20 }],
    [
      "a reset counts only the new counter",
      { lastRx: 5_000, lastTx: 60 },
      { rx: 70, tx: 80 },
      { rx: 70, tx: 20 },
    ],
  ])("readingDelta: %s", (_name, previous, reading, delta) => {
    expect(readingDelta(previous, reading)).toEqual(delta);
  });

  it("writes a header and CRLF rows, quoting only fields that need it, nulls empty", () => {
    const rows = [
      { name: "plain", bytes: 10, at: new Date("2026-11-03T10:00:00Z") },
      { name: 'a "quoted", name', bytes: 0, at: null },
      { name: "two\nlines", bytes: 1, at: undefined },
    ];
    expect(toCsv(["name", "bytes", "at"], rows)).toBe(
      'name,bytes,at\r\nplain,10,2026-11-03T10:00:00.000Z\r\n"a ""quoted"", name",0,\r\n"two\nlines",1,\r\n',
    );
  });

  it("keeps text a spreadsheet would run as a formula inert, and numbers as they are", () => {
    const rows = [
      { who: '=HYPERLINK("http://x")@example.com', bytes: 5 },
      { who: "+1", bytes: -1 },
      { who: "-2", bytes: 0 },
      { who: "@sum", bytes: 1 },
      { who: "\tx", bytes: 2 },
      { who: "a=b", bytes: 3 },
    ];
    expect(toCsv(["who", "bytes"], rows, ["who"])).toBe(
      'who,bytes\r\n"\'=HYPERLINK(""http://x"")@example.com",5\r\n\'+1,-1\r\n\'-2,0\r\n\'@sum,1\r\n\'\tx,2\r\na=b,3\r\n',
    );
  });

  it("guards only the free-text columns: a key starting with + and numbers stay exactly as they are", () => {
    const rows = [
      {
        publicKey: "+Zq3x0qP6tVd1vWn9Jk2Yc4bH8sLmN7oRfT5uE0aGw8=",
        nodeName: "=cmd|' /C calc'!A0",
        email: "-x@example.com",
        rxBytes: -1,
        month: "2026-12",
      },
    ];
    expect(toCsv(["publicKey", "nodeName", "email", "rxBytes", "month"], rows, ["nodeName", "email"])).toBe(
      "publicKey,nodeName,email,rxBytes,month\r\n" +
        "+Zq3x0qP6tVd1vWn9Jk2Yc4bH8sLmN7oRfT5uE0aGw8=,'=cmd|' /C calc'!A0,'-x@example.com,-1,2026-12\r\n",
    );
  });

  it("writes only the header for no rows", () => {
    expect(toCsv(["hour", "rxBytes"], [])).toBe("hour,rxBytes\r\n");
  });
});
