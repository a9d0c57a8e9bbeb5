-- The printer a card was sent to, so an operator can confirm an interrupted
-- card as issued and the register still names the printer.
ALTER TABLE orders ADD COLUMN attempt_printer_model TEXT;
ALTER TABLE orders ADD COLUMN attempt_printer_serial TEXT;
