//! The record's long texts (a synthesis, the next steps) as the facilitator
//! typed them, split into what the Markdown and HTML formats lay out:
//! paragraphs separated by blank lines, and lists where lines start with a
//! bullet ("- ", "• ", "* ", "– "). A paragraph keeps its line breaks.

/// A run of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Lines of one paragraph, each trimmed and not empty.
    Paragraph(Vec<String>),
    /// The items of a list, without their bullets.
    List(Vec<String>),
}

/// The item text of a bulleted line, or `None` for a line of prose.
fn bullet(line: &str) -> Option<&str> {
    ["- ", "• ", "* ", "– ", "— "]
        .iter()
        .find_map(|b| line.strip_prefix(b))
        .map(str::trim)
}

/// Splits `text` into blocks; an empty text has none.
pub fn blocks(text: &str) -> Vec<Block> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<Block> = Vec::new();
    let mut open = false; // the last block takes the next line
    for line in normalized.split('\n').map(str::trim) {
        if line.is_empty() {
            open = false;
            continue;
        }
        match (bullet(line), out.last_mut()) {
            (Some(item), Some(Block::List(items))) if open => items.push(item.to_string()),
            (Some(item), _) => out.push(Block::List(vec![item.to_string()])),
            (None, Some(Block::Paragraph(lines))) if open => lines.push(line.to_string()),
            (None, _) => out.push(Block::Paragraph(vec![line.to_string()])),
        }
        open = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lines: &[&str]) -> Block {
        Block::Paragraph(lines.iter().map(|s| s.to_string()).collect())
    }

    fn l(items: &[&str]) -> Block {
        Block::List(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn paragraphs_lines_and_lists_are_told_apart() {
        assert_eq!(blocks("  \n \r\n"), vec![]);
        assert_eq!(
            blocks("Prima riga\nseconda riga\n\n\nAltro paragrafo"),
            vec![p(&["Prima riga", "seconda riga"]), p(&["Altro paragrafo"])]
        );
        assert_eq!(
            blocks("Si decide:\r\n- uno\n• due\n  * tre\nE poi basta.\n-5 gradi"),
            vec![
                p(&["Si decide:"]),
                l(&["uno", "due", "tre"]),
                p(&["E poi basta.", "-5 gradi"])
            ]
        );
        assert_eq!(blocks("- a\n\n- b"), vec![l(&["a"]), l(&["b"])]);
    }
}
