//! ABA routing transit numbers: nine digits whose weighted sum
//! 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) is a multiple of ten.

/// The check digit (ninth digit) that completes eight routing digits.
pub fn check_digit(first8: &[u8; 8]) -> u8 {
    const WEIGHTS: [u32; 8] = [3, 7, 1, 3, 7, 1, 3, 7];
    let sum: u32 = first8.iter().zip(WEIGHTS).map(|(d, w)| u32::from(*d) * w).sum();
    ((10 - sum % 10) % 10) as u8
}

/// True for nine ASCII digits passing the ABA check digit.
pub fn is_valid(routing: &str) -> bool {
    let bytes = routing.as_bytes();
    if bytes.len() != 9 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let digits: Vec<u8> = bytes.iter().map(|b| b - b'0').collect();
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&digits[..8]);
    check_digit(&first8) == digits[8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_routing_numbers_pass() {
        // JPMorgan Chase NY, Bank of America, Wells Fargo, the Federal Reserve.
        for r in ["021000021", "026009593", "121000248", "011000015"] {
            assert!(is_valid(r), "{r}");
        }
    }

    #[test]
    fn a_changed_digit_fails() {
        assert!(!is_valid("021000022"));
        assert!(!is_valid("121000249"));
        assert!(!is_valid("123456789"));
    }

    #[test]
    fn only_nine_digits() {
        assert!(!is_valid("02100002"));
        assert!(!is_valid("0210000211"));
        assert!(!is_valid("02100002a"));
        assert!(!is_valid(" 21000021"));
        assert!(!is_valid(""));
    }

    #[test]
    fn check_digit_completes_the_sum() {
        assert_eq!(check_digit(&[0, 2, 1, 0, 0, 0, 0, 2]), 1);
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0]), 0);
    }
}
