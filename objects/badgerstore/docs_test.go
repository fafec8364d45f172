package badgerstore

import (
	"strings"

	"github.com/folio-db/folio/objects"
)

// vocabulary for generated documents: enough distinct words that text does
// not compress to nothing, few enough that it reads like real prose.
var vocabulary = strings.Fields(`
	account address agent alpha amber anchor apple archive arrow atlas autumn
	balance banner basket beacon berry binary bishop blanket border bottle branch
	breeze bridge bronze bucket buffer cabin cactus camera canal candle canvas
	carbon cargo carpet castle cedar cellar center chapter charter cherry circle
	citizen climate cluster cobalt coffee column comet copper corner cotton county
	crystal current cursor custom dancer dawn debris delta desert design diamond
	digital dinner domain dragon drift eagle echo editor effect element ember
	empire engine epoch equal escape estate event falcon feather fiber field
	filter finance flame fleet forest fortune fossil frame galaxy garden garnet
	gateway glacier globe golden granite gravity harbor harvest hazel helix
	horizon hunter island ivory jacket jasmine journal jungle kernel kingdom
	ladder lagoon lantern laser legend lemon letter library light linen liquid
	lotus lumber magnet manor marble market meadow medal memory mercury meteor
	mirror module monitor mosaic motion mountain native nebula needle network
	noble number oasis object ocean office olive onyx orbit orchard origin oxygen
	packet palace panel paper parcel patrol pepper pilot pioneer planet plaza
	pocket portal prairie prism quartz quest radar radius random raven record
	region relay remote ribbon river rocket ruby saddle salmon sample satellite
	scarlet schema season sector signal silver simple socket solar spiral spring
	square stable station stone storm summit sunset symbol system tablet temple
	thunder timber token torch tower trail tunnel union valley vector velvet
	violet vision volcano voyage wagon walnut window winter wizard yellow zenith`)

// jsonDoc returns the i-th generated JSON document, about 1 KiB: the shape
// of a typical application record, with seeded random words and numbers so
// that documents differ as real ones do. The same i gives the same bytes.
// It is cheap, so that benchmarks measure the store, not the generator.
func jsonDoc(i int) []byte {
	g := docGen{state: uint64(i)*0x9e3779b97f4a7c15 + 0x5eed, b: make([]byte, 0, 1100)}
	g.str("{\n  \"id\": ").num(i, 1).str(",\n  \"name\": \"").words(2)
	g.str("\",\n  \"email\": \"").word().str(".").word().str("@").word().str(".example\",\n")
	g.str("  \"created\": \"20").num(10+g.intn(15), 2).str("-").num(1+g.intn(12), 2).str("-").num(1+g.intn(28), 2)
	g.str("T").num(g.intn(24), 2).str(":").num(g.intn(60), 2).str(":").num(g.intn(60), 2).str("Z\",\n")
	g.str("  \"active\": ")
	if g.intn(2) == 0 {
		g.str("true")
	} else {
		g.str("false")
	}
	g.str(",\n  \"score\": ").num(g.intn(1000), 1).str(".").num(g.intn(100), 2)
	g.str(",\n  \"tags\": [\"").word().str("\", \"").word().str("\", \"").word().str("\"],\n")
	g.str("  \"address\": {\"street\": \"").num(1+g.intn(999), 1).str(" ").words(2)
	g.str("\", \"city\": \"").word().str("\", \"zip\": \"").num(g.intn(100000), 5).str("\"},\n")
	g.str("  \"notes\": [")
	for n := range 3 {
		if n > 0 {
			g.str(", ")
		}
		g.str("{\"at\": ").num(1600000000+g.intn(200000000), 1).str(", \"by\": \"").word()
		g.str("\", \"text\": \"").words(8 + g.intn(8)).str("\"}")
	}
	g.str("],\n  \"description\": \"")
	for len(g.b) < 1000 {
		g.words(1 + g.intn(12)).str(". ")
	}
	g.str("\"\n}\n")
	return g.b
}

// docGen appends the pieces of a generated document; its random numbers
// come from splitmix64, seeded by the document number.
type docGen struct {
	state uint64
	b     []byte
}

func (g *docGen) intn(n int) int {
	g.state += 0x9e3779b97f4a7c15
	z := g.state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return int((z ^ z>>31) % uint64(n))
}

func (g *docGen) str(s string) *docGen { g.b = append(g.b, s...); return g }

func (g *docGen) word() *docGen { return g.str(vocabulary[g.intn(len(vocabulary))]) }

func (g *docGen) words(n int) *docGen {
	for k := range n {
		if k > 0 {
			g.str(" ")
		}
		g.word()
	}
	return g
}

// num appends n in decimal with at least width digits.
func (g *docGen) num(n, width int) *docGen {
	var digits [20]byte
	i := len(digits)
	for n > 0 || len(digits)-i < width {
		i--
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	g.b = append(g.b, digits[i:]...)
	return g
}

// docBlob is the blob object of the i-th document.
func docBlob(i int) objects.Object { return objects.EncodeBlob(jsonDoc(i)) }
