// Profile table helpers for dash-ag-grid: compact numbers (8.9k, 1.2M) and cells that expand in place.
// Text is always rendered as text nodes (React children), never as HTML: names come from data.
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

dagfuncs.compactNumber = function (value, signed) {
    if (value === null || value === undefined || !isFinite(value)) { return ""; }
    var a = Math.abs(value);
    var text = a >= 1000
        ? new Intl.NumberFormat("en", {notation: "compact", maximumFractionDigits: 1}).format(a).replace("K", "k")
        : new Intl.NumberFormat("en", {maximumSignificantDigits: 3}).format(a);
    var sign = value < 0 ? "−" : (signed && value > 0 ? "+" : "");
    return sign + text;
};

var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

// A list cell: the first `shown` items, the rest behind a "+N more" disclosure (a <details> element,
// so it opens with the keyboard too). props.value is a list of strings.
dagcomponentfuncs.ExpandableList = function (props) {
    var items = Array.isArray(props.value) ? props.value : [];
    var shown = (props.colDef.cellRendererParams || {}).shown || 3;
    var head = React.createElement("span", null, items.slice(0, shown).join(" · "));
    if (items.length <= shown) { return head; }
    return React.createElement(
        "details", {className: "csi-expand"},
        React.createElement("summary", null, head, React.createElement("span", {className: "csi-more"},
                            " +" + (items.length - shown) + " more")),
        items.slice(shown).map(function (t, i) { return React.createElement("div", {key: i}, t); })
    );
};

// The segment cell: its name, and an "Outliers" badge on the flagged group of customers far from every segment.
dagcomponentfuncs.SegmentCell = function (props) {
    var data = props.data || {};
    var name = React.createElement("span", null, props.value);
    if (!data.outlier) { return name; }
    return React.createElement("span", null,
        React.createElement("span", {className: "badge bg-secondary me-1",
                                     title: "customers far from every segment"}, "Outliers"), name);
};

// The stability cell: a coloured badge "stable 0.93" (class by the core's badge word).
dagcomponentfuncs.StabilityBadge = function (props) {
    var data = props.data || {};
    if (!data.stability_badge) { return React.createElement("span", {className: "text-muted"}, "—"); }
    return React.createElement("span", {className: "csi-badge csi-badge-" + data.stability_badge},
                               props.value);
};

// A long text cell: its headline (up to the first ":" or `chars` characters), the whole text on
// expand, so a row stays one or two lines high until the reader opens it.
dagcomponentfuncs.ExpandableText = function (props) {
    var text = props.value == null ? "" : String(props.value);
    var chars = (props.colDef.cellRendererParams || {}).chars || 70;
    if (text.length <= chars) { return React.createElement("span", null, text); }
    var colon = text.indexOf(":");
    var head = colon > 0 && colon <= chars ? text.slice(0, colon + 1) : text.slice(0, chars) + "…";
    return React.createElement(
        "details", {className: "csi-expand"},
        React.createElement("summary", null, head, React.createElement("span", {className: "csi-more"}, " more")),
        React.createElement("div", null, text)
    );
};
