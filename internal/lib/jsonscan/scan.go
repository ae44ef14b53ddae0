package jsonscan

// MaxDepth bounds nesting; deeper documents are left to full decoders
// (encoding/json's own limit is 10,000).
const MaxDepth = 1000

// valid reports whether data is one JSON value, as encoding/json.Valid
// does (it does not check UTF-8 either), for documents no deeper than
// MaxDepth: the tests' measure of skipValue.
func valid(data []byte) bool {
	end := skipValue(data, skipSpace(data, 0))
	return end >= 0 && skipSpace(data, end) == len(data)
}

// Lookup is the value at path in the JSON object data (each key of path in
// the object the one before names), as Fields returns it.
func Lookup(data []byte, path ...string) ([]byte, bool) {
	values, ok := Fields(data, path[:len(path)-1], path[len(path)-1])
	if !ok {
		return nil, false
	}
	return values[0], true
}

// Fields returns the values of keys in the object at path in data (data
// itself for an empty path; only whitespace around it), each without
// surrounding whitespace: nil for a key that is absent, all nil when a key
// of path is absent or names something other than an object. It validates
// all of data, in one pass. It reports false when data is not such an
// object, when any key of an object on the path is written with escapes
// (it might spell a wanted key), or when a wanted key is given twice.
func Fields(data []byte, path []string, keys ...string) ([][]byte, bool) {
	values := make([][]byte, len(keys))
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	end := fields(data, i, path, keys, values)
	if end < 0 || skipSpace(data, end) != len(data) {
		return nil, false
	}
	return values, true
}

// fields walks the object at data[i] along path, filling values; it
// returns the object's end, or -1.
func fields(data []byte, i int, path, keys []string, values [][]byte) int {
	if len(path) == 0 {
		return scanObject(data, i, func(key []byte, start int) int {
			end := skipValue(data, start)
			for k, want := range keys {
				if end >= 0 && string(key) == want {
					if values[k] != nil {
						return -1 // the key twice: decoders merge objects
					}
					values[k] = data[start:end]
				}
			}
			return end
		})
	}
	found := false
	return scanObject(data, i, func(key []byte, start int) int {
		if string(key) != path[0] {
			return skipValue(data, start)
		}
		if found {
			return -1
		}
		found = true
		if start >= len(data) || data[start] != '{' {
			return skipValue(data, start)
		}
		return fields(data, start, path[1:], keys, values)
	})
}

// scanObject walks the object at data[i] == '{', calling member with each
// key (unescaped keys only: an escaped one fails the scan) and the start of
// its value; member returns the value's end, or -1 to fail the scan. It
// returns the end of the object, or -1.
func scanObject(data []byte, i int, member func(key []byte, start int) int) int {
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return -1
		}
		keyEnd, escaped := skipString(data, i)
		if keyEnd < 0 || escaped {
			return -1
		}
		key := data[i+1 : keyEnd-1]
		i = skipSpace(data, keyEnd)
		if i >= len(data) || data[i] != ':' {
			return -1
		}
		end := member(key, skipSpace(data, i+1))
		if end < 0 {
			return -1
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return -1
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// plain are the bytes a string holds as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipString returns the end of the string at data[i] == '"' and whether
// it holds an escape, or -1.
func skipString(data []byte, i int) (int, bool) {
	escaped := false
	for i++; i < len(data); {
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i >= len(data) {
			break
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, escaped
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return -1, true
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return -1, true
				}
				i += 6
			default:
				return -1, true
			}
		case c < 0x20:
			return -1, escaped
		default:
			i++
		}
	}
	return -1, escaped
}

// skipNumber returns the end of the number at data[i], or -1. What may
// follow it is for the caller to check.
func skipNumber(data []byte, i int) int {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return -1
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return -1
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i
}

func skipLiteral(data []byte, i int, literal string) int {
	if len(data)-i < len(literal) || string(data[i:i+len(literal)]) != literal {
		return -1
	}
	return i + len(literal)
}

// skipValue returns the end of the JSON value at data[i], or -1; it
// validates what it skips. Containers are tracked on a stack, not by
// recursion.
func skipValue(data []byte, i int) int {
	var buf [32]byte
	stack := buf[:0] // '{' or '[' per open container
	for {
		// A value starts at data[i].
		if i >= len(data) {
			return -1
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if len(stack) >= MaxDepth {
				return -1
			}
			closing := byte('}')
			if c == '[' {
				closing = ']'
			}
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == closing {
				i++
				break // an empty container is a whole value
			}
			stack = append(stack, c)
			if c == '{' {
				if i = skipKey(data, i); i < 0 {
					return -1
				}
			}
			continue // its first value
		case c == '"':
			i, _ = skipString(data, i)
		case c == 't':
			i = skipLiteral(data, i, "true")
		case c == 'f':
			i = skipLiteral(data, i, "false")
		case c == 'n':
			i = skipLiteral(data, i, "null")
		case c == '-' || isDigit(c):
			i = skipNumber(data, i)
		default:
			return -1
		}
		// A value ended at i: close containers until one continues.
		for {
			if i < 0 {
				return -1
			}
			if len(stack) == 0 {
				return i
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return -1
			}
			open := stack[len(stack)-1]
			if data[i] == ',' {
				i = skipSpace(data, i+1)
				if open == '{' {
					i = skipKey(data, i)
				}
				break
			}
			if (open == '{' && data[i] == '}') || (open == '[' && data[i] == ']') {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return -1
		}
		if i < 0 {
			return -1
		}
	}
}

// skipKey skips `"key" :` and the space after it, at data[i].
func skipKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	i, _ = skipString(data, i)
	if i < 0 {
		return -1
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}
