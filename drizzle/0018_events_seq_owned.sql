-- The stream sequence belongs to the column it numbers: restore moves every owned sequence past the
-- restored maximum (pg_get_serial_sequence finds it), and dropping the column drops the sequence.
ALTER SEQUENCE "public"."events_seq" OWNED BY "public"."events"."seq";
