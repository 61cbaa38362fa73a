"""Names for synthetic residents: (written form, kana, romanised)."""

FAMILY_NAMES = [
    ("佐藤", "サトウ", "Sato"), ("鈴木", "スズキ", "Suzuki"), ("高橋", "タカハシ", "Takahashi"),
    ("田中", "タナカ", "Tanaka"), ("伊藤", "イトウ", "Ito"), ("渡辺", "ワタナベ", "Watanabe"),
    ("山本", "ヤマモト", "Yamamoto"), ("中村", "ナカムラ", "Nakamura"),
    ("小林", "コバヤシ", "Kobayashi"), ("加藤", "カトウ", "Kato"), ("吉田", "ヨシダ", "Yoshida"),
    ("山田", "ヤマダ", "Yamada"), ("佐々木", "ササキ", "Sasaki"), ("山口", "ヤマグチ", "Yamaguchi"),
    ("松本", "マツモト", "Matsumoto"), ("井上", "イノウエ", "Inoue"), ("木村", "キムラ", "Kimura"),
    ("林", "ハヤシ", "Hayashi"), ("斎藤", "サイトウ", "Saito"), ("清水", "シミズ", "Shimizu"),
    ("山崎", "ヤマザキ", "Yamazaki"), ("森", "モリ", "Mori"), ("池田", "イケダ", "Ikeda"),
    ("橋本", "ハシモト", "Hashimoto"), ("阿部", "アベ", "Abe"), ("石川", "イシカワ", "Ishikawa"),
    ("前田", "マエダ", "Maeda"), ("藤田", "フジタ", "Fujita"), ("小川", "オガワ", "Ogawa"),
    ("岡田", "オカダ", "Okada"), ("後藤", "ゴトウ", "Goto"), ("長谷川", "ハセガワ", "Hasegawa"),
    ("村上", "ムラカミ", "Murakami"), ("近藤", "コンドウ", "Kondo"), ("石井", "イシイ", "Ishii"),
    ("坂本", "サカモト", "Sakamoto"), ("遠藤", "エンドウ", "Endo"), ("青木", "アオキ", "Aoki"),
    ("藤井", "フジイ", "Fujii"), ("西村", "ニシムラ", "Nishimura"),
]

GIVEN_NAMES = [
    ("翔太", "ショウタ", "Shota"), ("大輔", "ダイスケ", "Daisuke"), ("健一", "ケンイチ", "Kenichi"),
    ("拓也", "タクヤ", "Takuya"), ("直樹", "ナオキ", "Naoki"), ("浩", "ヒロシ", "Hiroshi"),
    ("誠", "マコト", "Makoto"), ("悠真", "ユウマ", "Yuma"), ("蓮", "レン", "Ren"),
    ("湊", "ミナト", "Minato"), ("陽翔", "ハルト", "Haruto"), ("茂", "シゲル", "Shigeru"),
    ("勝", "マサル", "Masaru"), ("清", "キヨシ", "Kiyoshi"), ("和夫", "カズオ", "Kazuo"),
    ("花子", "ハナコ", "Hanako"), ("陽子", "ヨウコ", "Yoko"), ("恵子", "ケイコ", "Keiko"),
    ("美咲", "ミサキ", "Misaki"), ("さくら", "サクラ", "Sakura"), ("結衣", "ユイ", "Yui"),
    ("陽菜", "ヒナ", "Hina"), ("葵", "アオイ", "Aoi"), ("凛", "リン", "Rin"),
    ("芽依", "メイ", "Mei"), ("由美", "ユミ", "Yumi"), ("直美", "ナオミ", "Naomi"),
    ("幸子", "サチコ", "Sachiko"), ("和子", "カズコ", "Kazuko"), ("節子", "セツコ", "Setsuko"),
    ("愛", "アイ", "Ai"), ("真由美", "マユミ", "Mayumi"), ("翼", "ツバサ", "Tsubasa"),
    ("優斗", "ユウト", "Yuto"), ("結菜", "ユイナ", "Yuina"), ("大和", "ヤマト", "Yamato"),
]

# Foreign residents: (family, given, katakana of the full name, preferred locale)
FOREIGN_NAMES = [
    ("Nguyen", "Van An", "グエン ヴァン アン", "en"), ("Tran", "Thi Mai", "チャン ティ マイ", "en"),
    ("Pham", "Minh Duc", "ファム ミン ドゥック", "en"), ("Wang", "Fang", "ワン ファン", "ja"),
    ("Li", "Wei", "リー ウェイ", "ja"), ("Zhang", "Min", "チャン ミン", "ja"),
    ("Santos", "Maria", "サントス マリア", "en"), ("Reyes", "Jose", "レイエス ホセ", "en"),
    ("Silva", "Lucas", "シルバ ルーカス", "en"), ("Oliveira", "Ana", "オリベイラ アナ", "en"),
    ("Gurung", "Bikash", "グルン ビカシュ", "en"), ("Shrestha", "Sita", "シュレスタ シタ", "en"),
    ("Kim", "Minji", "キム ミンジ", "ja"), ("Park", "Jisoo", "パク ジス", "ja"),
    ("Smith", "Emily", "スミス エミリー", "en"), ("Johnson", "Daniel", "ジョンソン ダニエル", "en"),
    ("Brown", "Olivia", "ブラウン オリビア", "en"), ("Garcia", "Carlos", "ガルシア カルロス", "en"),
    ("Sharma", "Priya", "シャルマ プリヤ", "en"),
    ("Tanaka-Muller", "Lena", "タナカミュラー レナ", "en"),
]

#: (Japanese name = code, English name) of the demo municipality's districts
DISTRICTS = [("中央", "Chuo"), ("北町", "Kitamachi"), ("南町", "Minamimachi"),
             ("東町", "Higashimachi"), ("西町", "Nishimachi"), ("桜ヶ丘", "Sakuragaoka"),
             ("川辺", "Kawabe"), ("緑町", "Midorimachi")]
