-- Test migration: depends on 0001, so it only succeeds in numeric order.
ALTER TABLE widgets ADD COLUMN color text;
CREATE INDEX widgets_color_idx ON widgets (color);
