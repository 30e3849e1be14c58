/* Keyboard and screen-reader fixes for parts of third-party components the page cannot configure:
   the page language, the upload's hidden file input, AG Grid's empty row containers, and Enter on a
   focused profile-table cell selecting its segment (as a click does). */
(function () {
    "use strict";

    function fixUploadInput() {
        document.querySelectorAll("input[type=file]").forEach(function (input) {
            // "autocomplete" is not valid on a file input, and the input needs a name of its own.
            input.removeAttribute("autocomplete");
            if (!input.getAttribute("aria-label")) {
                var box = input.closest("[id]");
                input.setAttribute("aria-label", box && box.id !== "upload"
                    ? "Choose a CSV, Excel or Parquet file to score" : "Upload a CSV, Excel or Parquet file");
            }
        });
    }

    function fixEmptyRowGroups() {
        // AG Grid keeps empty role="rowgroup" containers (full-width and sticky rows); a rowgroup
        // must contain rows, so empty ones are hidden from assistive technology until they fill.
        document.querySelectorAll(".ag-root [role=rowgroup]").forEach(function (group) {
            var empty = !group.querySelector("[role=row]");
            if (empty && group.getAttribute("aria-hidden") !== "true") {
                group.setAttribute("aria-hidden", "true");
                group.dataset.csiHidden = "1";
            } else if (!empty && group.dataset.csiHidden === "1") {
                group.removeAttribute("aria-hidden");
                delete group.dataset.csiHidden;
            }
        });
    }

    function fixEmptyHeaderRows() {
        // A pinned column beside grouped headers leaves a header row with no column header in the
        // pinned part; a row must hold cells, so such rows are hidden from assistive technology.
        document.querySelectorAll(".ag-root .ag-header-row[role=row]").forEach(function (row) {
            var empty = !row.querySelector("[role=columnheader]");
            if (empty && row.getAttribute("aria-hidden") !== "true") {
                row.setAttribute("aria-hidden", "true");
                row.dataset.csiHidden = "1";
            } else if (!empty && row.dataset.csiHidden === "1") {
                row.removeAttribute("aria-hidden");
                delete row.dataset.csiHidden;
            }
        });
    }

    var scheduled = false;
    function fixAll() {
        scheduled = false;
        document.documentElement.setAttribute("lang", "en");
        fixUploadInput();
        fixEmptyRowGroups();
        fixEmptyHeaderRows();
    }
    function schedule() {
        if (!scheduled) {
            scheduled = true;
            window.requestAnimationFrame(fixAll);
        }
    }

    document.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") { return; }
        var cell = event.target && event.target.closest && event.target.closest("#profile-grid .ag-cell");
        if (cell) {
            event.preventDefault();
            cell.click();  // AG Grid turns it into cellClicked: the same path as a mouse click
        }
    }, true);

    document.documentElement.setAttribute("lang", "en");
    new MutationObserver(schedule).observe(document.documentElement, {childList: true, subtree: true});
    schedule();
})();
