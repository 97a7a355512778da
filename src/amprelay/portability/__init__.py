"""Moving configurations in and out: Segment's Public API export (`import-segment`,
`export-segment`) and Amplitude Classic settings (`migrate-classic`)."""
